import ExcelJS from 'exceljs';
import type { Response } from 'express';

/** A report as a table: the JSON rows, and the same rows in CSV or XLSX (same keys, same numbers). */
export interface ReportColumn {
  key: string;
  title: string;
  type: 'text' | 'integer' | 'percent';
}

export type ReportCell = string | number | null;
export type ReportRecord = Record<string, ReportCell>;

export const reportFormats = ['json', 'csv', 'xlsx'] as const;
export type ReportFormat = (typeof reportFormats)[number];

/**
 * A CSV text cell a spreadsheet would take for a formula (starting with `=`, `+`, `-`, `@`, tab or
 * CR, and more than that one character) is written with a leading apostrophe, so a customer's name
 * never runs as a formula when the file is opened (CSV injection). Numbers are written as numbers.
 * XLSX cells are typed: a string is never a formula there.
 */
function safeText(value: string): string {
  return value.length > 1 && /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
}

function csvField(value: ReportCell): string {
  if (value === null) return '';
  if (typeof value === 'number') return String(value);
  const text = safeText(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** RFC 4180 text with a header of the column keys, CRLF line ends, UTF-8 with a BOM (Excel reads Chinese names right). */
export function toCsv(columns: readonly ReportColumn[], rows: readonly ReportRecord[]): string {
  const lines = [columns.map((column) => csvField(column.key)).join(',')];
  for (const row of rows) lines.push(columns.map((column) => csvField(row[column.key] ?? null)).join(','));
  return `\uFEFF${lines.join('\r\n')}\r\n`;
}

/** One worksheet: a header row of the column keys (titles as notes), then the rows. */
export async function toXlsx(sheetName: string, columns: readonly ReportColumn[], rows: readonly ReportRecord[]): Promise<Buffer> {
  const workbook = new ExcelJS.Workbook();
  workbook.creator = 'Keyflow';
  const sheet = workbook.addWorksheet(sheetName.slice(0, 31));
  sheet.columns = columns.map((column) => ({ header: column.key, key: column.key, width: Math.max(12, column.key.length + 2) }));
  columns.forEach((column, index) => {
    sheet.getRow(1).getCell(index + 1).note = column.title;
  });
  sheet.getRow(1).font = { bold: true };
  for (const row of rows) {
    sheet.addRow(columns.map((column) => row[column.key] ?? null));
  }
  return Buffer.from(await workbook.xlsx.writeBuffer());
}

/** Sends a report as a download in `format` (csv or xlsx). */
export async function sendReport(res: Response, format: Exclude<ReportFormat, 'json'>, name: string, columns: readonly ReportColumn[], rows: readonly ReportRecord[]): Promise<void> {
  const fileName = name.replace(/[^A-Za-z0-9._-]/g, '_');
  if (format === 'csv') {
    res.status(200).type('text/csv; charset=utf-8').setHeader('content-disposition', `attachment; filename="${fileName}.csv"`);
    res.send(toCsv(columns, rows));
    return;
  }
  const body = await toXlsx(name, columns, rows);
  res.status(200).type('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet').setHeader('content-disposition', `attachment; filename="${fileName}.xlsx"`);
  res.send(body);
}
