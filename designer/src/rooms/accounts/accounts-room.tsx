import { useInfiniteQuery } from '@tanstack/preact-query';
import { useLocation } from 'preact-iso';
import { useEffect, useState } from 'preact/hooks';
import { t } from '../../i18n';
import { DataTable, type Column } from '../../ui/data-table';
import { AccountPage } from './account-page';
import { creditLists, fetchAccounts, statuses, tiers, type AccountListFilters, type AccountSummary } from './accounts-api';
import './accounts.css';

const columns: Column<AccountSummary>[] = [
  { id: 'name', label: 'accounts.column.name', cell: (account) => <a href={`/accounts/${encodeURIComponent(account.id)}`}>{account.name}</a> },
  { id: 'industry', label: 'accounts.column.industry', cell: (account) => t(`accounts.industry.${account.industry}`, { defaultValue: account.industry }) },
  { id: 'tier', label: 'accounts.column.tier', cell: (account) => <span class={`kf-tag kf-tag--tier-${account.tier}`}>{t(`accounts.tier.${account.tier}`)}</span> },
  { id: 'credit', label: 'accounts.column.creditList', cell: (account) => <span class={`kf-tag kf-tag--credit-${account.creditList}`}>{t(`accounts.credit.${account.creditList}`)}</span> },
  { id: 'status', label: 'accounts.column.status', cell: (account) => t(`accounts.status.${account.status}`) },
  { id: 'manager', label: 'accounts.column.manager', cell: (account) => account.customerManagerName ?? '—' },
  { id: 'unit', label: 'accounts.column.unit', cell: (account) => account.orgUnitName ?? '—' },
];

/** The key-account workspace: the accounts of my org subtree (searched, filtered, paged), and one account's page. */
export function AccountsRoom() {
  const { path } = useLocation();
  const accountId = path.startsWith('/accounts/') ? decodeURIComponent(path.slice('/accounts/'.length).split('/')[0]!) : null;
  return accountId ? <AccountPage key={accountId} accountId={accountId} /> : <AccountList />;
}

function AccountList() {
  const [search, setSearch] = useState('');
  const [query, setQuery] = useState('');
  const [filters, setFilters] = useState<AccountListFilters>({});
  // Typing settles for a moment before the list is asked again.
  useEffect(() => {
    const timer = setTimeout(() => setQuery(search.trim()), 250);
    return () => clearTimeout(timer);
  }, [search]);
  const list = useInfiniteQuery({
    queryKey: ['accounts', 'list', query, filters],
    queryFn: ({ pageParam }) => fetchAccounts({ ...filters, q: query || undefined }, pageParam),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (page) => page.nextCursor ?? undefined,
  });
  const rows = list.data?.pages.flatMap((page) => page.items);
  const select = (name: keyof AccountListFilters, values: readonly string[], labels: string) => (
    <label class="kf-field kf-field--inline">
      <span>{t(`accounts.filter.${name}`)}</span>
      <select value={filters[name] ?? ''} onChange={(event) => setFilters({ ...filters, [name]: event.currentTarget.value || undefined })}>
        <option value="">{t('accounts.filter.any')}</option>
        {values.map((value) => (
          <option key={value} value={value}>
            {t(`${labels}.${value}`)}
          </option>
        ))}
      </select>
    </label>
  );
  return (
    <div class="kf-page">
      <header class="kf-page-header">
        <h1>{t('rooms.accounts')}</h1>
        <label class="kf-search">
          <span class="kf-visually-hidden">{t('accounts.search')}</span>
          <input type="search" placeholder={t('accounts.search')} value={search} onInput={(event) => setSearch(event.currentTarget.value)} />
        </label>
      </header>
      <div class="kf-account-filters" role="group" aria-label={t('accounts.filters')}>
        {select('tier', tiers, 'accounts.tier')}
        {select('creditList', creditLists, 'accounts.credit')}
        {select('status', statuses, 'accounts.status')}
        <span class="kf-muted" role="status">
          {rows ? t('accounts.shown', { count: rows.length }) : ''}
        </span>
      </div>
      <DataTable caption={t('rooms.accounts')} columns={columns} rows={rows} rowKey={(account) => account.id} loading={list.isLoading} error={list.error} />
      {list.hasNextPage && (
        <button type="button" class="kf-button" disabled={list.isFetchingNextPage} onClick={() => void list.fetchNextPage()}>
          {t('accounts.more')}
        </button>
      )}
    </div>
  );
}
