import { sql, type CommonQueryMethods, type DatabasePool } from 'slonik';
import { z } from 'zod';
import { recordAudit } from '../audit';
import { industries } from '../crm/common';
import { Random } from './random';
import {
  areaManagerLogin,
  areasPerCounty,
  catalogueFrom,
  cities,
  contactTitles,
  demoStaff,
  givenNames,
  historyFrom,
  industrySuffixes,
  nameCharacters,
  products,
  province,
  repriceFrom,
  surnames,
  troubleCategories,
} from './operator';

export { demoLogins, demoPassword } from './operator';

export interface SeedOptions {
  accounts: number;
  /** Same seed, same operator. */
  seed?: number;
  /** scrypt hash every demo login gets (hashing per login would cost ~100 ms each). */
  passwordHash: string;
}

export interface SeedResult {
  seeded: boolean;
  counts: Record<string, number>;
}

const noRows = z.object({});
const day = 86_400_000;
const chunkSize = 2_000;

const pad = (value: number, width = 8) => String(value).padStart(width, '0');
const iso = (ms: number) => new Date(ms).toISOString();
const isoDate = (ms: number) => iso(ms).slice(0, 10);

/** Inserts rows in chunks with one `unnest` each: a few statements for tens of thousands of rows. */
async function insertRows(db: CommonQueryMethods, table: string, columns: string[], types: string[], rows: unknown[][]): Promise<void> {
  // Seeded rows were last changed when they were made: updated_at repeats created_at.
  const created = columns.indexOf('created_at');
  if (created >= 0) {
    columns = [...columns, 'updated_at'];
    types = [...types, 'timestamptz'];
    rows = rows.map((row) => [...row, row[created]]);
  }
  for (let start = 0; start < rows.length; start += chunkSize) {
    const chunk = rows.slice(start, start + chunkSize);
    await db.query(sql.type(noRows)`
      INSERT INTO ${sql.identifier([table])} (${sql.join(columns.map((column) => sql.identifier([column])), sql.fragment`, `)})
      SELECT * FROM ${sql.unnest(chunk, types)}`);
  }
}

/**
 * Seeds a realistic synthetic operator into an empty CRM: the org tree, staff in every role, the
 * catalogue with versioned tariffs, and `accounts` key accounts with contacts, contracts, billing
 * accounts, subscriptions, orders, trouble tickets and supervision tickets. Deterministic from
 * `seed` (ids, names and timestamps never depend on the clock). Does nothing when accounts exist.
 */
export async function seedDemoData(pool: DatabasePool, options: SeedOptions): Promise<SeedResult> {
  const random = new Random(options.seed ?? 42);
  return pool.transaction(async (tx) => {
    // Two starts racing on a fresh database: the second waits here, then finds the accounts.
    await tx.query(sql.type(noRows)`SELECT pg_advisory_xact_lock(727274100)`);
    if (await tx.exists(sql.type(noRows)`SELECT FROM key_accounts`)) return { seeded: false, counts: {} };

    // --- org tree ---
    const units: [string, string | null, string, string, string][] = [[province.id, null, 'province', province.name, `/${province.id}/`]];
    const counties: { id: string; name: string; cityCode: string; areas: string[] }[] = [];
    for (const city of cities) {
      const cityId = `${province.id}-${city.code}`;
      const cityPath = `/${province.id}/${cityId}/`;
      units.push([cityId, province.id, 'city', city.name, cityPath]);
      for (const [code, name] of city.counties) {
        const countyId = `${cityId}-${code}`;
        const countyPath = `${cityPath}${countyId}/`;
        units.push([countyId, cityId, 'county', name, countyPath]);
        const areas: string[] = [];
        for (const [areaCode, areaName] of areasPerCounty) {
          const areaId = `${countyId}-${areaCode}`;
          units.push([areaId, countyId, 'area', `${name}${areaName}`, `${countyPath}${areaId}/`]);
          areas.push(areaId);
        }
        counties.push({ id: countyId, name, cityCode: city.code, areas });
      }
    }
    await tx.query(sql.type(noRows)`
      INSERT INTO org_units (id, parent_id, level, name, path)
      SELECT * FROM ${sql.unnest(units, ['text', 'text', 'text', 'text', 'text'])}
      ON CONFLICT (id) DO NOTHING`);

    // --- staff ---
    const staffIds = new Map<string, number>();
    for (const member of demoStaff()) {
      const id = await tx.oneFirst(sql.type(z.object({ id: z.coerce.number() }))`
        INSERT INTO staff (username, display_name, org_unit_id, roles, password_hash)
        VALUES (${member.username}, ${member.displayName}, ${member.orgUnitId}, ${sql.array(member.roles, 'text')}, ${options.passwordHash})
        ON CONFLICT (username) DO UPDATE SET username = excluded.username
        RETURNING id`);
      staffIds.set(member.username, id);
    }
    const areaManagerOf = (areaId: string) => {
      const [, cityCode, countyCode, areaCode] = areaId.split('-');
      return staffIds.get(areaManagerLogin(`${cityCode!.toLowerCase()}-${countyCode!.toLowerCase()}`, areaCode!));
    };
    const managersOf = (countyId: string) => {
      const [, cityCode, countyCode] = countyId.split('-');
      const prefix = `${cityCode!.toLowerCase()}-${countyCode!.toLowerCase()}`;
      return [staffIds.get(`${prefix}.cm1`)!, staffIds.get(`${prefix}.cm2`)!];
    };

    // --- catalogue ---
    // An existing catalogue is kept; its versions 1 and 2 are looked up rather than overwritten.
    const tariffIds = new Map<string, { v1: string; v2: string | null }>();
    const tariffId = (productId: string, version: number) =>
      tx.oneFirst(sql.type(z.object({ id: z.string() }))`SELECT id FROM tariffs WHERE product_id = ${productId} AND version = ${version}`);
    for (const product of products) {
      await tx.query(sql.type(noRows)`
        INSERT INTO products (id, name, category, network_product_code, default_bandwidth_mbps)
        VALUES (${product.id}, ${product.name}, ${product.category}, ${product.network}, ${product.bandwidthMbps}) ON CONFLICT (id) DO NOTHING`);
      await tx.query(sql.type(noRows)`
        INSERT INTO tariffs (product_id, version, name, valid_from, valid_to, monthly_fee_minor, one_off_fee_minor)
        VALUES (${product.id}, 1, ${`${product.name} 标准资费`}, ${catalogueFrom}, ${product.newPrice === null ? null : repriceFrom},
                ${product.monthly}, ${product.oneOff})
        ON CONFLICT (product_id, version) DO NOTHING`);
      if (product.newPrice !== null) {
        await tx.query(sql.type(noRows)`
          INSERT INTO tariffs (product_id, version, name, valid_from, monthly_fee_minor, one_off_fee_minor)
          VALUES (${product.id}, 2, ${`${product.name} 2025 资费`}, ${repriceFrom}, ${product.newPrice}, ${product.oneOff})
          ON CONFLICT (product_id, version) DO NOTHING`);
      }
      tariffIds.set(product.id, { v1: await tariffId(product.id, 1), v2: product.newPrice === null ? null : await tariffId(product.id, 2) });
    }

    // --- customers ---
    const accounts: unknown[][] = [];
    const contacts: unknown[][] = [];
    const contracts: unknown[][] = [];
    const billingAccounts: unknown[][] = [];
    const subscriptions: unknown[][] = [];
    const orders: unknown[][] = [];
    const orderItems: unknown[][] = [];
    const tickets: unknown[][] = [];
    const supervision: unknown[][] = [];
    const serviceNumbers = new Map<string, number>();
    const cityWeights = cities.map((city) => [city, city.weight] as const);
    const repriceAt = Date.parse(repriceFrom);

    for (let index = 1; index <= options.accounts; index += 1) {
      const accountId = `KA${pad(index)}`;
      const city = random.weighted(cityWeights);
      const county = random.pick(counties.filter((candidate) => candidate.cityCode === city.code));
      const orgUnitId = random.chance(0.6) ? random.pick(county.areas) : county.id;
      const industry = random.pick(industries);
      const tier = random.weighted([['gold', 10], ['silver', 30], ['bronze', 60]] as const);
      const creditList = random.weighted([['none', 90], ['red', 4], ['grey', 4], ['black', 2]] as const);
      const status = random.weighted([['active', 80], ['prospect', 8], ['suspended', 7], ['churned', 5]] as const);
      const name = `${city.short}${random.pick(nameCharacters)}${random.pick(nameCharacters)}${random.pick(industrySuffixes[industry]!)}`;
      const createdAt = historyFrom + random.int(0, 900) * day + random.int(0, day - 1);
      const creditLimit = { gold: 50_000_000, silver: 10_000_000, bronze: 2_000_000 }[tier];
      const countyManager = random.pick(managersOf(county.id));
      // Every other account of an area has the area's own manager (drawn without the generator, so
      // the rest of the operator is what it was before areas had managers).
      const areaManager = orgUnitId === county.id || index % 2 === 1 ? undefined : areaManagerOf(orgUnitId);
      const manager = areaManager ?? countyManager;
      accounts.push([
        accountId,
        name,
        `9144${pad(index, 13)}A`,
        industry,
        tier,
        creditList,
        creditLimit,
        status,
        manager,
        orgUnitId,
        `${city.name}${county.name}${random.pick(nameCharacters)}${random.pick(nameCharacters)}路${random.int(1, 999)}号`,
        iso(createdAt),
      ]);

      const contactCount = random.int(1, 4);
      for (let c = 0; c < contactCount; c += 1) {
        contacts.push([
          `CT${pad(contacts.length + 1)}`,
          accountId,
          orgUnitId,
          `${random.pick(surnames)}${random.pick(givenNames)}`,
          random.pick(contactTitles),
          c === 0 ? 'decision_maker' : random.pick(['technical', 'finance', 'procurement', 'other']),
          c === 0 || random.chance(0.2),
          `13${random.digits(9)}`,
          `contact${contacts.length + 1}@example.cn`,
          iso(createdAt),
        ]);
      }

      const billingCount = tier === 'gold' ? 2 : 1;
      const billingIds: string[] = [];
      for (let b = 0; b < billingCount; b += 1) {
        const id = `BA${pad(billingAccounts.length + 1)}`;
        billingIds.push(id);
        billingAccounts.push([
          id,
          accountId,
          orgUnitId,
          b === 0 ? `${name} 主账户` : `${name} 分账户`,
          random.int(1, 28),
          random.weighted([['bank_transfer', 60], ['direct_debit', 35], ['cash', 5]] as const),
          `6222${random.digits(15)}`,
          name,
          iso(createdAt),
        ]);
      }

      const live = status === 'active' || status === 'suspended';
      const subscriptionCount = status === 'prospect' ? 0 : random.int(1, 3);
      let monthly = 0;
      const accountSubscriptions: { id: string; productId: string; tariffId: string; fee: number; serviceNumber: string; row: unknown[] }[] = [];
      for (let s = 0; s < subscriptionCount; s += 1) {
        const product = random.pick(products);
        const tariffs = tariffIds.get(product.id)!;
        const soldAt = createdAt + random.int(1, 60) * day;
        const useNew = tariffs.v2 !== null && soldAt >= repriceAt;
        const fee = useNew ? product.newPrice! : product.monthly;
        const sequence = (serviceNumbers.get(product.id) ?? 0) + 1;
        serviceNumbers.set(product.id, sequence);
        const id = `SB${pad(subscriptions.length + 1)}`;
        const serviceNumber = `${product.id}-${pad(sequence, 6)}`;
        const row: unknown[] = [
          id,
          accountId,
          orgUnitId,
          product.id,
          useNew ? tariffs.v2 : tariffs.v1,
          random.pick(billingIds),
          serviceNumber,
          product.category === 'mobile' || product.category === 'iot' ? random.int(10, 500) : 1,
          live ? (status === 'suspended' ? 'suspended' : 'active') : 'terminated',
          iso(soldAt),
          live ? null : iso(soldAt + random.int(180, 600) * day),
          iso(soldAt),
          null,
        ];
        subscriptions.push(row);
        monthly += fee;
        accountSubscriptions.push({ id, productId: product.id, tariffId: useNew ? tariffs.v2! : tariffs.v1, fee, serviceNumber, row });
      }

      contracts.push([
        `CN${pad(index)}`,
        accountId,
        orgUnitId,
        `HT${new Date(createdAt).getUTCFullYear()}${pad(index, 6)}`,
        `${name} 综合信息服务协议`,
        status === 'churned' ? 'terminated' : status === 'prospect' ? 'draft' : 'active',
        status === 'prospect' ? null : isoDate(createdAt),
        isoDate(createdAt),
        isoDate(createdAt + 3 * 365 * day),
        monthly * 36,
        iso(createdAt),
      ]);

      if (accountSubscriptions.length > 0 && random.chance(0.3)) {
        const orderId = `OR${pad(orders.length + 1)}`;
        const orderedAt = createdAt + random.int(0, 30) * day;
        const inFlight = random.chance(0.15);
        orders.push([
          orderId,
          accountId,
          orgUnitId,
          billingIds[0],
          'new',
          inFlight ? 'inProgress' : 'completed',
          random.pick(['account_manager', 'hall', 'web']),
          manager,
          0,
          monthly,
          iso(orderedAt),
          inFlight ? null : iso(orderedAt + random.int(1, 10) * day),
          iso(orderedAt),
        ]);
        accountSubscriptions.forEach((item, line) => {
          item.row[item.row.length - 1] = orderId;
          orderItems.push([
            `OI${pad(orderItems.length + 1)}`,
            orderId,
            orgUnitId,
            line + 1,
            'add',
            item.productId,
            item.tariffId,
            item.id,
            item.serviceNumber,
            item.fee,
            inFlight ? 'provisioning' : 'done',
            iso(orderedAt),
          ]);
        });
      }

      if (status !== 'prospect' && random.chance(0.2)) {
        const kind = random.chance(0.6) ? 'fault' : 'complaint';
        const severity = random.weighted([['critical', 5], ['major', 20], ['minor', 50], ['low', 25]] as const);
        const openedAt = createdAt + random.int(60, 800) * day;
        const slaHours = { critical: 4, major: 12, minor: 48, low: 72 }[severity];
        const open = random.chance(0.3);
        const ticketId = `TT${pad(tickets.length + 1)}`;
        tickets.push([
          ticketId,
          accountId,
          orgUnitId,
          kind,
          random.pick(['phone', 'web', 'email', 'wechat', 'noc']),
          random.pick(troubleCategories[kind]),
          severity,
          `${random.pick(troubleCategories[kind])}：${name}`,
          accountSubscriptions[0]?.id ?? null,
          open ? random.pick(['acknowledged', 'inProgress', 'pending']) : 'closed',
          iso(openedAt + slaHours * 3_600_000),
          open ? null : iso(openedAt + random.int(1, slaHours + 12) * 3_600_000),
          open ? null : iso(openedAt + (slaHours + 24) * 3_600_000),
          iso(openedAt),
        ]);
        if (random.chance(0.1)) {
          supervision.push([
            `SV${pad(supervision.length + 1)}`,
            county.id,
            `${province.id}-${city.code}`,
            staffIds.get(`${city.code.toLowerCase()}.supervisor`)!,
            accountId,
            ticketId,
            `督办：${name} ${kind === 'fault' ? '故障' : '投诉'}处理`,
            severity,
            open ? 'issued' : 'closed',
            iso(openedAt + 48 * 3_600_000),
            iso(openedAt + 3_600_000),
          ]);
        }
      }
    }

    await insertRows(
      tx,
      'key_accounts',
      ['id', 'name', 'registration_no', 'industry', 'tier', 'credit_list', 'credit_limit_minor', 'status', 'customer_manager_id', 'org_unit_id', 'address', 'created_at'],
      ['text', 'text', 'text', 'text', 'text', 'text', 'int8', 'text', 'int8', 'text', 'text', 'timestamptz'],
      accounts,
    );
    await insertRows(
      tx,
      'contacts',
      ['id', 'account_id', 'org_unit_id', 'name', 'title', 'role', 'is_key_person', 'phone', 'email', 'created_at'],
      ['text', 'text', 'text', 'text', 'text', 'text', 'bool', 'text', 'text', 'timestamptz'],
      contacts,
    );
    await insertRows(
      tx,
      'billing_accounts',
      ['id', 'account_id', 'org_unit_id', 'name', 'bill_cycle_day', 'payment_method', 'bank_account', 'invoice_title', 'created_at'],
      ['text', 'text', 'text', 'text', 'int2', 'text', 'text', 'text', 'timestamptz'],
      billingAccounts,
    );
    await insertRows(
      tx,
      'contracts',
      ['id', 'account_id', 'org_unit_id', 'contract_no', 'title', 'status', 'signed_on', 'starts_on', 'ends_on', 'value_minor', 'created_at'],
      ['text', 'text', 'text', 'text', 'text', 'text', 'date', 'date', 'date', 'int8', 'timestamptz'],
      contracts,
    );
    await insertRows(
      tx,
      'orders',
      ['id', 'account_id', 'org_unit_id', 'billing_account_id', 'order_type', 'status', 'channel', 'requested_by', 'one_off_total_minor', 'monthly_total_minor', 'submitted_at', 'completed_at', 'created_at'],
      ['text', 'text', 'text', 'text', 'text', 'text', 'text', 'int8', 'int8', 'int8', 'timestamptz', 'timestamptz', 'timestamptz'],
      orders,
    );
    await insertRows(
      tx,
      'subscriptions',
      ['id', 'account_id', 'org_unit_id', 'product_id', 'tariff_id', 'billing_account_id', 'service_number', 'quantity', 'status', 'activated_at', 'terminated_at', 'created_at', 'order_id'],
      ['text', 'text', 'text', 'text', 'text', 'text', 'text', 'int4', 'text', 'timestamptz', 'timestamptz', 'timestamptz', 'text'],
      subscriptions,
    );
    await insertRows(
      tx,
      'order_items',
      ['id', 'order_id', 'org_unit_id', 'line_no', 'action', 'product_id', 'tariff_id', 'subscription_id', 'service_number', 'monthly_fee_minor', 'status', 'created_at'],
      ['text', 'text', 'text', 'int4', 'text', 'text', 'text', 'text', 'text', 'int8', 'text', 'timestamptz'],
      orderItems,
    );
    await insertRows(
      tx,
      'trouble_tickets',
      ['id', 'account_id', 'org_unit_id', 'kind', 'channel', 'category', 'severity', 'title', 'subscription_id', 'status', 'sla_due_at', 'resolved_at', 'closed_at', 'created_at'],
      ['text', 'text', 'text', 'text', 'text', 'text', 'text', 'text', 'text', 'text', 'timestamptz', 'timestamptz', 'timestamptz', 'timestamptz'],
      tickets,
    );
    await insertRows(
      tx,
      'supervision_tickets',
      ['id', 'org_unit_id', 'issued_by_unit_id', 'issued_by', 'account_id', 'trouble_ticket_id', 'title', 'severity', 'status', 'due_at', 'created_at'],
      ['text', 'text', 'text', 'int8', 'text', 'text', 'text', 'text', 'text', 'timestamptz', 'timestamptz'],
      supervision,
    );
    // Sequences continue after the seeded ids, so rows created later never collide with them.
    const sequences: [string, string][] = [
      ['key_accounts', 'key_accounts_seq'],
      ['contacts', 'contacts_seq'],
      ['contracts', 'contracts_seq'],
      ['billing_accounts', 'billing_accounts_seq'],
      ['subscriptions', 'subscriptions_seq'],
      ['orders', 'orders_seq'],
      ['order_items', 'order_items_seq'],
      ['trouble_tickets', 'trouble_tickets_seq'],
      ['supervision_tickets', 'supervision_tickets_seq'],
    ];
    for (const [table, sequence] of sequences) {
      await tx.query(sql.type(noRows)`
        SELECT setval(${sequence}::regclass,
          coalesce((SELECT max(substring(id FROM 3)::bigint) FROM ${sql.identifier([table])} WHERE id ~ '^[A-Z]{2}[0-9]+$'), 0) + 1, false)`);
    }

    const counts = {
      orgUnits: units.length,
      staff: staffIds.size,
      products: products.length,
      accounts: accounts.length,
      contacts: contacts.length,
      contracts: contracts.length,
      billingAccounts: billingAccounts.length,
      subscriptions: subscriptions.length,
      orders: orders.length,
      orderItems: orderItems.length,
      troubleTickets: tickets.length,
      supervisionTickets: supervision.length,
    };
    await recordAudit(tx, { actor: 'system:seed' }, { action: 'seed', entityType: 'crm', entityId: String(options.seed ?? 42), details: counts });
    return { seeded: true, counts };
  });
}

/**
 * Fresh statistics after a bulk load, so the planner picks the list's indexes from the first query,
 * and a fresh visibility map, so the account list's index-only scans need no heap visits.
 */
export async function analyzeCrm(pool: DatabasePool): Promise<void> {
  // VACUUM marks a page all-visible only when its rows' hint bits say their transactions are over,
  // and a commit's hint bit is set only once the WAL is flushed past the latest asynchronous commit
  // among that transaction's neighbours in the commit log. With synchronous_commit off (the test
  // clusters, or an operator's choice) that may not be so yet, and other sessions' commits keep
  // moving the mark: measured, 0 of 346 account pages all-visible after one VACUUM. So this
  // connection commits synchronously, flushes the WAL before each pass, and passes again (briefly
  // apart, as the WAL writer catches up) until the listed tables are all-visible, eight passes at most.
  const tables = sql.fragment`org_units, staff, key_accounts, contacts, contracts, billing_accounts, subscriptions, orders, order_items, trouble_tickets, supervision_tickets`;
  await pool.connect(async (connection) => {
    await connection.query(sql.type(noRows)`SET synchronous_commit = on`);
    try {
      await connection.query(sql.type(noRows)`ANALYZE ${tables}`);
      for (let pass = 1; pass <= 8; pass += 1) {
        await connection.transaction(async (tx) => {
          await tx.query(sql.type(noRows)`SELECT FROM pg_current_xact_id()`);
        });
        await connection.query(sql.type(noRows)`VACUUM ${tables}`);
        const hidden = await connection.oneFirst(sql.type(z.object({ pages: z.number() }))`
          SELECT coalesce(sum(relpages - relallvisible), 0)::int AS pages FROM pg_class
          WHERE relname IN ('org_units', 'staff', 'key_accounts') AND relnamespace = current_schema()::regnamespace`);
        if (hidden === 0) return;
        await new Promise((resolve) => setTimeout(resolve, 100 * pass));
      }
    } finally {
      await connection.query(sql.type(noRows)`RESET synchronous_commit`);
    }
  });
}
