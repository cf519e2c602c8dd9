import type { ComponentChildren } from 'preact';
import { t } from '../i18n';

export interface Column<Row> {
  id: string;
  /** Catalogue key of the header. */
  label: string;
  cell: (row: Row) => ComponentChildren;
  numeric?: boolean;
}

/** A dense, read-only table with a caption for screen readers and an empty state. */
export function DataTable<Row>({ caption, columns, rows, rowKey, loading, error }: { caption: string; columns: Column<Row>[]; rows: readonly Row[] | undefined; rowKey: (row: Row) => string; loading?: boolean; error?: unknown }) {
  return (
    <div class="kf-table-wrap">
      <table class="kf-table">
        <caption class="kf-visually-hidden">{caption}</caption>
        <thead>
          <tr>
            {columns.map((column) => (
              <th key={column.id} scope="col" class={column.numeric ? 'kf-num' : undefined}>
                {t(column.label)}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {(rows ?? []).map((row) => (
            <tr key={rowKey(row)}>
              {columns.map((column) => (
                <td key={column.id} class={column.numeric ? 'kf-num' : undefined}>
                  {column.cell(row)}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
      {loading && <p class="kf-table-state" role="status">{t('app.loading')}</p>}
      {!loading && error ? <p class="kf-table-state kf-error" role="alert">{error instanceof Error ? error.message : t('app.failed')}</p> : null}
      {!loading && !error && rows && rows.length === 0 && <p class="kf-table-state">{t('app.empty')}</p>}
    </div>
  );
}

export function formatDateTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString(document.documentElement.lang === 'zh-CN' ? 'zh-CN' : 'en-GB', { dateStyle: 'medium', timeStyle: 'short' });
}
