import { useQuery, useQueryClient } from '@tanstack/preact-query';
import { useState } from 'preact/hooks';
import { api, ApiRequestError } from '../../api/client';
import { currentStaff } from '../../app/session';
import { t } from '../../i18n';
import { DataTable, formatDateTime } from '../../ui/data-table';
import { Modal } from '../../ui/modal';
import { EditDialog, type EditField } from './edit-dialog';
import {
  accountPath,
  changeCreditList,
  creditLists,
  fetchAccount,
  industries,
  statuses,
  tiers,
  updateAccount,
  updateContact,
  type AccountDetail,
  type AuditEntry,
  type Contact,
  type KeyAccount,
} from './accounts-api';

/** Who may do what here (the API decides; the page offers only what it would allow). */
const accountWriters = ['admin', 'supervisor', 'customer_manager'];
const creditListKeepers = ['admin', 'supervisor', 'billing_clerk'];
const auditReaders = ['admin', 'supervisor', 'customer_manager'];
const billPrinters = ['admin', 'billing_clerk'];
const starterRoles = ['admin', 'ops', 'supervisor', 'customer_manager', 'dispatcher', 'billing_clerk'];

const accountFields: EditField[] = [
  { key: 'name', label: 'accounts.fields.name', kind: 'text' },
  { key: 'tier', label: 'accounts.fields.tier', kind: 'select', options: tiers, optionLabels: 'accounts.tier' },
  { key: 'status', label: 'accounts.fields.status', kind: 'select', options: statuses, optionLabels: 'accounts.status' },
  { key: 'industry', label: 'accounts.fields.industry', kind: 'select', options: industries, optionLabels: 'accounts.industry' },
  { key: 'address', label: 'accounts.fields.address', kind: 'text' },
  { key: 'notes', label: 'accounts.fields.notes', kind: 'textarea' },
];
const contactFields: EditField[] = [
  { key: 'name', label: 'accounts.fields.contactName', kind: 'text' },
  { key: 'title', label: 'accounts.fields.title', kind: 'text' },
  { key: 'phone', label: 'accounts.fields.phone', kind: 'text' },
  { key: 'email', label: 'accounts.fields.email', kind: 'text' },
];

export function money(minor: string | number | null | undefined, currency: string): string {
  if (minor === null || minor === undefined) return '—';
  return `${currency} ${(Number(minor) / 100).toLocaleString(document.documentElement.lang === 'zh-CN' ? 'zh-CN' : 'en-GB', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
}

/**
 * One key account: who it is, its contacts, contracts, billing accounts, subscriptions, orders,
 * tickets and bills, and its audit trail — with what the caller's roles allow: edit the account
 * and its contacts (a stale edit shows the other person's change), change the credit list with a
 * reason, start a process for the account, print a bill.
 */
export function AccountPage({ accountId }: { accountId: string }) {
  const staff = currentStaff.value!;
  const may = (roles: string[]) => staff.roles.some((role) => roles.includes(role));
  const client = useQueryClient();
  const account = useQuery({ queryKey: ['accounts', 'detail', accountId], queryFn: () => fetchAccount(accountId) });
  const audit = useQuery({
    queryKey: ['accounts', 'audit', accountId],
    queryFn: () => api<{ items: AuditEntry[] }>(`${accountPath(accountId)}/audit`, { query: { limit: 50 } }),
    enabled: may(auditReaders) && account.isSuccess,
  });
  const [dialog, setDialog] = useState<null | { kind: 'account' } | { kind: 'contact'; contact: Contact } | { kind: 'credit' } | { kind: 'start' }>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const refresh = () => client.invalidateQueries({ queryKey: ['accounts'] });

  if (account.isLoading) return <p class="kf-table-state" role="status">{t('app.loading')}</p>;
  if (account.error || !account.data) {
    const missing = account.error instanceof ApiRequestError && account.error.status === 404;
    return (
      <div class="kf-page">
        <a href="/accounts">← {t('accounts.back')}</a>
        <p class="kf-error" role="alert">
          {missing ? t('accounts.notFound') : account.error instanceof Error ? account.error.message : t('app.failed')}
        </p>
      </div>
    );
  }
  const data = account.data;
  const saved = (row: { version: number } | undefined) => {
    setDialog(null);
    if (row) setNotice(t('accounts.edit.saved', { version: row.version }));
    void refresh();
  };

  return (
    <div class="kf-page kf-account">
      <a href="/accounts">← {t('accounts.back')}</a>
      <header class="kf-page-header">
        <div>
          <h1>{data.name}</h1>
          <p class="kf-customer-tags">
            <span class={`kf-tag kf-tag--tier-${data.tier}`}>{t(`accounts.tier.${data.tier}`)}</span>
            <span class={`kf-tag kf-tag--credit-${data.creditList}`}>{t(`accounts.credit.${data.creditList}`)}</span>
            <span class="kf-tag">{t(`accounts.status.${data.status}`)}</span>
            <span class="kf-muted">
              {t(`accounts.industry.${data.industry}`, { defaultValue: data.industry })} · {data.orgUnitName} · {t('accounts.fields.manager')}: {data.customerManagerName ?? '—'} ·{' '}
              {t('accounts.fields.creditLimit')}: {money(data.creditLimitMinor, data.currency)} · {t('accounts.fields.version')} {data.version}
            </span>
          </p>
        </div>
        <div class="kf-account-actions">
          {may(accountWriters) && (
            <button type="button" class="kf-button" onClick={() => setDialog({ kind: 'account' })}>
              {t('accounts.action.edit')}
            </button>
          )}
          {may(creditListKeepers) && (
            <button type="button" class="kf-button" onClick={() => setDialog({ kind: 'credit' })}>
              {t('accounts.action.creditList')}
            </button>
          )}
          {may(starterRoles) && (
            <button type="button" class="kf-button" onClick={() => setDialog({ kind: 'start' })}>
              {t('accounts.action.start')}
            </button>
          )}
        </div>
      </header>
      {notice && (
        <p class="kf-notice kf-notice--ok" role="status">
          {notice}
        </p>
      )}
      {(data.address || data.notes) && (
        <p class="kf-muted">
          {data.address}
          {data.address && data.notes ? ' · ' : ''}
          {data.notes}
        </p>
      )}

      <div class="kf-account-grid">
        <Section title="accounts.section.contacts">
          <DataTable
            caption={t('accounts.section.contacts')}
            rowKey={(contact) => contact.id}
            rows={data.contacts}
            columns={[
              { id: 'name', label: 'accounts.fields.contactName', cell: (contact: Contact) => `${contact.name}${contact.isKeyPerson ? ' ★' : ''}` },
              { id: 'title', label: 'accounts.fields.title', cell: (contact: Contact) => contact.title ?? '—' },
              { id: 'role', label: 'accounts.fields.role', cell: (contact: Contact) => t(`accounts.contactRole.${contact.role}`, { defaultValue: contact.role }) },
              { id: 'phone', label: 'accounts.fields.phone', cell: (contact: Contact) => contact.phone ?? '—' },
              ...(may(accountWriters)
                ? [
                    {
                      id: 'edit',
                      label: 'accounts.action.editContact',
                      cell: (contact: Contact) => (
                        <button type="button" class="kf-button kf-button--small" aria-label={`${t('accounts.action.editContact')} ${contact.name}`} onClick={() => setDialog({ kind: 'contact', contact })}>
                          {t('accounts.action.editContact')}
                        </button>
                      ),
                    },
                  ]
                : []),
            ]}
          />
        </Section>
        <Section title="accounts.section.contracts">
          <DataTable
            caption={t('accounts.section.contracts')}
            rowKey={(row) => row.id}
            rows={data.contracts}
            columns={[
              { id: 'no', label: 'accounts.fields.contractNo', cell: (row) => `${row.contractNo} · ${row.title}` },
              { id: 'status', label: 'accounts.fields.status', cell: (row) => row.status },
              { id: 'period', label: 'accounts.fields.period', cell: (row) => `${row.startsOn ?? '—'} – ${row.endsOn ?? ''}` },
            ]}
          />
        </Section>
        <Section title="accounts.section.billingAccounts">
          <DataTable
            caption={t('accounts.section.billingAccounts')}
            rowKey={(row) => row.id}
            rows={data.billingAccounts}
            columns={[
              { id: 'name', label: 'accounts.fields.name', cell: (row) => row.name },
              { id: 'day', label: 'accounts.fields.billCycleDay', cell: (row) => row.billCycleDay, numeric: true },
              { id: 'payment', label: 'accounts.fields.paymentMethod', cell: (row) => row.paymentMethod ?? '—' },
              { id: 'status', label: 'accounts.fields.status', cell: (row) => row.status },
            ]}
          />
        </Section>
        <Section title="accounts.section.subscriptions">
          <DataTable
            caption={t('accounts.section.subscriptions')}
            rowKey={(row) => row.id}
            rows={data.subscriptions}
            columns={[
              { id: 'product', label: 'accounts.fields.product', cell: (row) => row.productName },
              { id: 'number', label: 'accounts.fields.serviceNumber', cell: (row) => row.serviceNumber ?? '—' },
              { id: 'fee', label: 'accounts.fields.monthlyFee', cell: (row) => money(row.monthlyFeeMinor, data.currency), numeric: true },
              { id: 'status', label: 'accounts.fields.status', cell: (row) => row.status },
            ]}
          />
        </Section>
        <Section title="accounts.section.orders">
          <DataTable
            caption={t('accounts.section.orders')}
            rowKey={(row) => row.id}
            rows={data.recentOrders}
            columns={[
              { id: 'id', label: 'accounts.fields.orderType', cell: (row) => `${row.id} · ${row.orderType}` },
              { id: 'status', label: 'accounts.fields.status', cell: (row) => row.status },
              { id: 'fee', label: 'accounts.fields.monthlyFee', cell: (row) => money(row.monthlyTotalMinor, row.currency), numeric: true },
              { id: 'submitted', label: 'accounts.fields.submitted', cell: (row) => formatDateTime(row.submittedAt) },
            ]}
          />
        </Section>
        <Section title="accounts.section.openTickets">
          <DataTable
            caption={t('accounts.section.openTickets')}
            rowKey={(row) => row.id}
            rows={data.openTickets}
            columns={[
              { id: 'title', label: 'accounts.fields.name', cell: (row) => row.title },
              { id: 'severity', label: 'accounts.fields.severity', cell: (row) => row.severity },
              { id: 'status', label: 'accounts.fields.status', cell: (row) => row.status },
              { id: 'sla', label: 'accounts.fields.slaDue', cell: (row) => <span class={row.overdue ? 'kf-error' : undefined}>{formatDateTime(row.slaDueAt)}</span> },
            ]}
          />
        </Section>
        <Section title="accounts.section.bills">
          <DataTable
            caption={t('accounts.section.bills')}
            rowKey={(row) => row.id}
            rows={data.recentBills}
            columns={[
              { id: 'period', label: 'accounts.fields.period', cell: (row) => `${row.period} · ${row.billNo}` },
              { id: 'total', label: 'accounts.fields.total', cell: (row) => money(row.totalMinor, row.currency), numeric: true },
              { id: 'paid', label: 'accounts.fields.paid', cell: (row) => money(row.paidMinor, row.currency), numeric: true },
              { id: 'status', label: 'accounts.fields.status', cell: (row) => row.status },
              ...(may(billPrinters)
                ? [
                    {
                      id: 'print',
                      label: 'accounts.action.print',
                      cell: (row: AccountDetail['recentBills'][number]) => (
                        <a class="kf-button kf-button--small" href={`/api/billing/bills/${encodeURIComponent(row.id)}/print`} target="_blank" rel="noopener" aria-label={`${t('accounts.action.print')} ${row.billNo}`}>
                          {t('accounts.action.print')}
                        </a>
                      ),
                    },
                  ]
                : []),
            ]}
          />
        </Section>
      </div>
      {may(auditReaders) && (
        <Section title="accounts.section.audit">
          <DataTable
            caption={t('accounts.section.audit')}
            rowKey={(row) => String(row.id)}
            rows={audit.data?.items}
            loading={audit.isLoading}
            error={audit.error}
            columns={[
              { id: 'at', label: 'accounts.fields.when', cell: (row: AuditEntry) => formatDateTime(row.at) },
              { id: 'who', label: 'accounts.fields.who', cell: (row: AuditEntry) => row.actor },
              { id: 'action', label: 'accounts.fields.action', cell: (row: AuditEntry) => <code>{row.action}</code> },
              { id: 'change', label: 'accounts.fields.change', cell: (row: AuditEntry) => <code class="kf-audit-change">{describeChange(row)}</code> },
            ]}
          />
        </Section>
      )}

      {dialog?.kind === 'account' && (
        <EditDialog<KeyAccount & Record<string, unknown>>
          title={t('accounts.edit.title', { name: data.name })}
          fields={accountFields}
          row={data as unknown as KeyAccount & Record<string, unknown>}
          load={() => fetchAccount(accountId) as unknown as Promise<KeyAccount & Record<string, unknown>>}
          save={(version, changes) => updateAccount(accountId, version, changes as Partial<KeyAccount>) as Promise<KeyAccount & Record<string, unknown>>}
          onClose={() => setDialog(null)}
          onSaved={saved}
        />
      )}
      {dialog?.kind === 'contact' && (
        <EditDialog<Contact & Record<string, unknown>>
          title={t('accounts.contactEdit.title', { name: dialog.contact.name })}
          fields={contactFields}
          row={dialog.contact as Contact & Record<string, unknown>}
          load={async () => (await fetchAccount(accountId)).contacts.find((contact) => contact.id === dialog.contact.id) as Contact & Record<string, unknown>}
          save={(version, changes) => updateContact(dialog.contact.id, version, changes as Partial<Contact>) as Promise<Contact & Record<string, unknown>>}
          onClose={() => setDialog(null)}
          onSaved={saved}
        />
      )}
      {dialog?.kind === 'credit' && <CreditListDialog account={data} onClose={() => setDialog(null)} onSaved={saved} />}
      {dialog?.kind === 'start' && <StartProcessDialog account={data} onClose={() => setDialog(null)} onStarted={(id) => { setDialog(null); setNotice(t('accounts.startProcess.started', { id })); }} />}
    </div>
  );
}

function Section({ title, children }: { title: string; children: preact.ComponentChildren }) {
  const id = `section-${title.split('.').pop()}`;
  return (
    <section aria-labelledby={id}>
      <h2 id={id}>{t(title)}</h2>
      {children}
    </section>
  );
}

/** An audit row's change in one line: the fields whose values differ before and after. */
function describeChange(row: AuditEntry): string {
  const before = (row.before ?? {}) as Record<string, unknown>;
  const after = (row.after ?? {}) as Record<string, unknown>;
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].filter((key) => JSON.stringify(before[key] ?? null) !== JSON.stringify(after[key] ?? null) && key !== 'version' && key !== 'updatedAt');
  return keys.map((key) => `${key}: ${JSON.stringify(before[key] ?? null)} → ${JSON.stringify(after[key] ?? null)}`).join('; ') || '—';
}

function CreditListDialog({ account, onClose, onSaved }: { account: AccountDetail; onClose: () => void; onSaved: (row: { version: number }) => void }) {
  const [creditList, setCreditList] = useState(account.creditList);
  const [reason, setReason] = useState('');
  const [error, setError] = useState<string | null>(null);
  const submit = async () => {
    setError(null);
    try {
      onSaved(await changeCreditList(account.id, account.version, creditList, reason.trim()));
    } catch (failure) {
      setError(failure instanceof Error ? failure.message : t('app.failed'));
    }
  };
  return (
    <Modal
      title={t('accounts.creditEdit.title', { name: account.name })}
      onClose={onClose}
      footer={
        <>
          <button type="button" class="kf-button" onClick={onClose}>
            {t('app.cancel')}
          </button>
          <button type="button" class="kf-button kf-button--primary" disabled={reason.trim() === ''} onClick={() => void submit()}>
            {t('accounts.action.save')}
          </button>
        </>
      }
    >
      <label class="kf-field">
        <span>{t('accounts.fields.creditList')}</span>
        <select value={creditList} onChange={(event) => setCreditList(event.currentTarget.value)}>
          {creditLists.map((value) => (
            <option key={value} value={value}>
              {t(`accounts.creditChoice.${value}`)}
            </option>
          ))}
        </select>
      </label>
      <label class="kf-field">
        <span>{t('accounts.fields.reason')}</span>
        <textarea rows={2} value={reason} onInput={(event) => setReason(event.currentTarget.value)} aria-describedby="credit-reason-hint" />
        <span id="credit-reason-hint" class="kf-muted">
          {t('accounts.creditEdit.hint')}
        </span>
      </label>
      {error && (
        <p class="kf-error" role="alert">
          {error}
        </p>
      )}
    </Modal>
  );
}

interface DefinitionListItem {
  key: string;
  version: number;
  name: string | null;
}

/** Starts a deployed process the caller may start, for this account (its customer and unit go with the start). */
function StartProcessDialog({ account, onClose, onStarted }: { account: AccountDetail; onClose: () => void; onStarted: (id: string) => void }) {
  const staff = currentStaff.value!;
  const definitions = useQuery({
    queryKey: ['definitions', 'startable'],
    queryFn: async () => {
      const list = await api<{ items: DefinitionListItem[] }>('/api/process-definitions');
      const latest = new Map<string, DefinitionListItem>();
      for (const item of list.items) if ((latest.get(item.key)?.version ?? 0) < item.version) latest.set(item.key, item);
      const details = await Promise.all(
        [...latest.values()].map((item) => api<DefinitionListItem & { summary: { starters: string[]; startForm?: { id: string; required?: boolean }[] } }>(`/api/process-definitions/${encodeURIComponent(item.key)}`)),
      );
      // Processes with a required start field cannot start from here yet: their start form is not shown.
      return details.filter((detail) => detail.summary.starters.some((role) => staff.roles.includes(role)) && !(detail.summary.startForm ?? []).some((field) => field.required));
    },
  });
  const [processKey, setProcessKey] = useState('');
  const [businessKey, setBusinessKey] = useState(`${account.id}-${new Date().toISOString().slice(0, 10).replace(/-/g, '')}`);
  const [error, setError] = useState<string | null>(null);
  const submit = async () => {
    setError(null);
    try {
      const started = await api<{ workflowId?: string; id?: string }>('/api/process-instances', {
        method: 'POST',
        body: { processKey, businessKey: businessKey.trim(), variables: {}, customerId: account.id, orgUnitId: account.orgUnitId },
      });
      onStarted(started.workflowId ?? started.id ?? `${processKey}:${businessKey}`);
    } catch (failure) {
      setError(failure instanceof Error ? failure.message : t('app.failed'));
    }
  };
  const options = definitions.data ?? [];
  return (
    <Modal
      title={t('accounts.startProcess.title', { name: account.name })}
      onClose={onClose}
      footer={
        <>
          <button type="button" class="kf-button" onClick={onClose}>
            {t('app.cancel')}
          </button>
          <button type="button" class="kf-button kf-button--primary" disabled={!processKey || !businessKey.trim()} onClick={() => void submit()}>
            {t('accounts.action.startConfirm')}
          </button>
        </>
      }
    >
      {definitions.isLoading && <p role="status">{t('app.loading')}</p>}
      {definitions.isSuccess && options.length === 0 && <p class="kf-muted">{t('accounts.startProcess.none')}</p>}
      {options.length > 0 && (
        <label class="kf-field">
          <span>{t('accounts.startProcess.process')}</span>
          <select value={processKey} onChange={(event) => setProcessKey(event.currentTarget.value)}>
            <option value="">{t('props.choose')}</option>
            {options.map((definition) => (
              <option key={definition.key} value={definition.key}>
                {definition.name ?? definition.key} (v{definition.version})
              </option>
            ))}
          </select>
        </label>
      )}
      <label class="kf-field">
        <span>{t('accounts.startProcess.businessKey')}</span>
        <input type="text" value={businessKey} onInput={(event) => setBusinessKey(event.currentTarget.value)} />
      </label>
      {error && (
        <p class="kf-error" role="alert">
          {error}
        </p>
      )}
    </Modal>
  );
}
