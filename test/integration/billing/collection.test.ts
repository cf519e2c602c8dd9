import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'slonik';
import { z } from 'zod';
import { BulkDatabase } from '../../../activities/billing/bulk';
import { collectInbox, inboxLayout, type CollectOptions } from '../../../activities/billing/collect';
import { GuidingContext } from '../../../activities/billing/guiding';
import { mediationFileText, mediationHeader } from '../../../activities/billing/mediation';
import { contentHash, type RawUsage } from '../../../activities/billing/preprocess';
import { seedOrgTree } from '../../support/auth';
import { seedOperator, type SeededOperator } from '../../support/billing';
import { createTestDatabase, type TestDatabase } from '../../support/database';
import { shenzhenPlan } from '../../unit/rating/fixtures';

const call = (recordId: string, serviceNumber: string, startedAt: string, overrides: Partial<RawUsage> = {}): RawUsage => ({
  source: 'MSC-SZ-01',
  recordId,
  usageType: 'voice',
  serviceNumber,
  startedAt,
  durationSec: '125',
  volumeBytes: '',
  messages: '',
  destination: '075588001234',
  ...overrides,
});

describe('usage collection from the mediation inbox', () => {
  let database: TestDatabase;
  let bulk: BulkDatabase;
  let operator: SeededOperator;
  let dir: string;
  let options: CollectOptions;
  const now = new Date('2025-03-20T00:00:00Z');

  beforeAll(async () => {
    database = await createTestDatabase();
    bulk = new BulkDatabase(database.url);
    const org = await seedOrgTree(database.pool);
    operator = await seedOperator(database.pool, { accounts: 3, subscriptionsPerAccount: 2, orgUnitId: org.shenzhen, plan: shenzhenPlan() });
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'keyflow-inbox-'));
    options = { layout: inboxLayout(path.join(dir, 'inbox')), now, settleMs: 0, fileClockMs: Date.now() + 1000, maxFileBytes: 10 * 1024 * 1024 };
    await fs.mkdir(options.layout.inbox, { recursive: true });
  });

  afterAll(async () => {
    await bulk?.end();
    await database?.drop();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  const count = async (table: string) => database.pool.oneFirst(sql.type(z.object({ count: z.coerce.number() }))`SELECT count(*) FROM ${sql.identifier([table])}`);
  const collect = async () => collectInbox(bulk, await bulk.transaction((client) => GuidingContext.load(client, now)), { ...options, fileClockMs: Date.now() + 1000 });
  const drop = (name: string, text: string) => fs.writeFile(path.join(options.layout.inbox, name), text);

  it('accepts good records, refuses duplicates and rejects bad records with a reason, losing none', async () => {
    const [first, second] = operator.subscriptions[0]!;
    const other = operator.subscriptions[1]![0]!;
    await drop(
      'MSC-SZ-01_0001.csv',
      mediationFileText([
        call('r1', first!.serviceNumber, '2025-03-04T10:00:00+08:00'),
        call('r2', `+86${second!.serviceNumber}`, '2025-03-04T11:00:00+08:00', { usageType: 'sms', durationSec: '', messages: '2', destination: '13900139000' }),
        call('r3', other.serviceNumber, '2025-03-04T12:00:00Z', { usageType: 'data', durationSec: '', volumeBytes: '52428800', destination: '' }),
        // the same record id again (a re-sent record): a duplicate
        call('r1', first!.serviceNumber, '2025-03-04T10:00:00+08:00'),
        // the same call under another id (same instant written in UTC): a duplicate by content
        call('r1-again', `0086${first!.serviceNumber}`, '2025-03-04T02:00:00Z'),
        call('bad-1', first!.serviceNumber, '2025-03-04T10:00:00+08:00', { durationSec: '-5' }),
        call('bad-2', '13999999999', '2025-03-04T10:00:00+08:00'),
        call('bad-3', first!.serviceNumber, '2025-03-04T10:00:00+08:00', { destination: '+999123456' }),
        call('bad-4', first!.serviceNumber, '2025-03-04 10:00:00'),
        call('bad-5', first!.serviceNumber, '2025-04-04T10:00:00+08:00'),
        call('', first!.serviceNumber, '2025-03-04T10:00:00+08:00'),
        call('bad-7', first!.serviceNumber, '2025-03-04T10:00:00+08:00', { usageType: 'fax' }),
      ]),
    );

    const summary = await collect();

    expect(summary).toMatchObject({ files: 1, loaded: 1, quarantined: 0, recordsIn: 12, accepted: 3, duplicates: 2, rejected: 7 });
    expect(summary.recordsIn).toBe(summary.accepted + summary.duplicates + summary.rejected);
    const rejections = await database.pool.any(
      sql.type(z.object({ record_id: z.string().nullable(), reason_code: z.string(), line_no: z.number() }))`
        SELECT record_id, reason_code, line_no FROM usage_rejections ORDER BY line_no`,
    );
    expect(rejections.map((row) => [row.record_id, row.reason_code])).toEqual([
      ['bad-1', 'NEGATIVE_QUANTITY'],
      ['bad-2', 'UNKNOWN_SUBSCRIBER'],
      ['bad-3', 'UNKNOWN_DESTINATION'],
      ['bad-4', 'INVALID_TIME'],
      ['bad-5', 'FUTURE_TIME'],
      [null, 'MISSING_FIELD'],
      ['bad-7', 'UNSUPPORTED_USAGE_TYPE'],
    ]);
    const records = await database.pool.any(
      sql.type(z.object({ record_id: z.string(), service_number: z.string(), destination: z.string(), period: z.string(), billing_account_id: z.string() }))`
        SELECT record_id, service_number, destination, period, billing_account_id FROM usage_records ORDER BY line_no`,
    );
    expect(records).toEqual([
      { record_id: 'r1', service_number: `86${first!.serviceNumber}`, destination: '8675588001234', period: '2025-03', billing_account_id: operator.billingAccountIds[0] },
      { record_id: 'r2', service_number: `86${second!.serviceNumber}`, destination: '8613900139000', period: '2025-03', billing_account_id: operator.billingAccountIds[0] },
      { record_id: 'r3', service_number: `86${other.serviceNumber}`, destination: '', period: '2025-03', billing_account_id: operator.billingAccountIds[1] },
    ]);
    expect(await count('usage_duplicates')).toBe(2);
    // PostgreSQL computed the content digest; resubmission computes it in JavaScript: the same
    const stored = await database.pool.oneFirst(sql.type(z.object({ content_hash: z.string() }))`SELECT content_hash FROM usage_records WHERE record_id = 'r1'`);
    expect(stored).toBe(
      contentHash({ usageType: 'voice', serviceNumber: `86${first!.serviceNumber}`, startMs: Date.parse('2025-03-04T10:00:00+08:00'), durationSec: 125, volumeBytes: 0, messages: 0 }, '8675588001234'),
    );
    // the file was moved out of the inbox
    await expect(fs.readdir(options.layout.processed)).resolves.toEqual(['MSC-SZ-01_0001.csv']);
  });

  it('takes a file exactly once, even under another name', async () => {
    const before = await count('usage_records');
    const text = await fs.readFile(path.join(options.layout.processed, 'MSC-SZ-01_0001.csv'), 'utf8');
    await drop('MSC-SZ-01_0001-resent.csv', text);

    const summary = await collect();

    expect(summary).toMatchObject({ files: 1, alreadyTaken: 1, loaded: 0, recordsIn: 0 });
    expect(await count('usage_records')).toBe(before);
    expect(await count('collected_files')).toBe(1);
  });

  it.each([
    ['half-written (no trailer)', 'TRUNCATED', (good: string) => good.slice(0, good.lastIndexOf('#END'))],
    ['cut mid-line', 'TRUNCATED', (good: string) => good.slice(0, good.indexOf('\n', mediationHeader.length + 1) + 20)],
    ['a wrong header', 'BAD_HEADER', (good: string) => good.replace('service_number', 'msisdn')],
    ['a wrong record count', 'COUNT_MISMATCH', (good: string) => good.replace('#END,2', '#END,3')],
    ['an unterminated quote', 'MALFORMED_CSV', (good: string) => good.replace(',voice,', ',"voice,')],
    ['nothing in it', 'EMPTY', () => ''],
  ])('quarantines a file with %s, loading none of it', async (name, code, spoil) => {
    const fileName = `spoilt-${name.replace(/\W+/g, '-')}.csv`;
    const subscriber = operator.subscriptions[2]![0]!.serviceNumber;
    const good = mediationFileText([
      call(`q-${fileName}-1`, subscriber, '2025-03-05T10:00:00+08:00'),
      call(`q-${fileName}-2`, subscriber, '2025-03-05T11:00:00+08:00'),
    ]);
    const before = await count('usage_records');
    await drop(fileName, spoil(good));

    const summary = await collect();

    expect(summary).toMatchObject({ quarantined: 1, loaded: 0, recordsIn: 0 });
    expect(summary.deliveries[0]!.reason!.code).toBe(code);
    expect(await count('usage_records')).toBe(before);
    const file = await database.pool.one(
      sql.type(z.object({ status: z.string(), reason_code: z.string(), quarantine_path: z.string() }))`
        SELECT status, reason_code, quarantine_path FROM collected_files WHERE file_name = ${fileName}`,
    );
    expect(file).toMatchObject({ status: 'quarantined', reason_code: code });
    await expect(fs.readFile(`${file.quarantine_path}.reason.txt`, 'utf8')).resolves.toMatch(new RegExp(`^${code}: `));
    await expect(fs.readdir(options.layout.inbox)).resolves.toEqual([]);
  });

  it('leaves a file that is still changing for the next collection', async () => {
    await drop('MSC-SZ-01_0009.csv', mediationFileText([call('late-1', operator.subscriptions[2]![1]!.serviceNumber, '2025-03-06T10:00:00+08:00')]));
    const summary = await collectInbox(bulk, await bulk.transaction((client) => GuidingContext.load(client, now)), { ...options, settleMs: 60_000, fileClockMs: Date.now() });
    expect(summary).toMatchObject({ files: 0, skippedUnsettled: 1 });
    await expect(fs.readdir(options.layout.inbox)).resolves.toEqual(['MSC-SZ-01_0009.csv']);
    expect((await collect()).accepted).toBe(1);
  });

  it("writes a delivery's records grouped by billing account, so a rating batch reads adjacent pages", async () => {
    const lines = operator.subscriptions.flat();
    // interleaved in the file: account 2, 0, 1, 2, 0, 1, …
    const usage = Array.from({ length: 30 }, (_, index) =>
      call(`grouped-${index}`, lines[(index * 5 + 4) % lines.length]!.serviceNumber, `2025-03-05T${String(index % 24).padStart(2, '0')}:00:00+08:00`, { durationSec: String(60 + index) }),
    );
    await drop('MSC-SZ-01_0002.csv', mediationFileText(usage));

    await collect();

    const physical = await database.pool.anyFirst(sql.type(z.object({ billing_account_id: z.string() }))`
      SELECT billing_account_id FROM usage_records WHERE record_id LIKE 'grouped-%' ORDER BY ctid`);
    expect(physical).toHaveLength(30);
    expect(physical).toEqual([...physical].sort());
    expect(new Set(physical).size).toBe(3);
  });

  it('files late usage of a month nobody made a partition for under that month, in its own partition', async () => {
    // given: usage of last November, collected in March (its bill is not out yet)
    await drop('MSC-SZ-01_0003.csv', mediationFileText([call('november-1', operator.subscriptions[0]![0]!.serviceNumber, '2024-11-20T10:00:00+08:00')]));

    // when
    const summary = await collect();

    // then: it went into the default partition while loading and was moved out after
    expect(summary).toMatchObject({ loaded: 1, accepted: 1 });
    const placed = await database.pool.one(sql.type(z.object({ period: z.string(), partition: z.string() }))`
      SELECT period, tableoid::regclass::text AS partition FROM usage_records WHERE record_id = 'november-1'`);
    expect(placed).toEqual({ period: '2024-11', partition: 'usage_records_2024_11' });
    expect(await count('usage_records_default')).toBe(0);
  });
});
