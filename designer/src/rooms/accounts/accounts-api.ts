import { api } from '../../api/client';

export const tiers = ['gold', 'silver', 'bronze'] as const;
export const creditLists = ['none', 'red', 'grey', 'black'] as const;
export const statuses = ['prospect', 'active', 'suspended', 'churned'] as const;
export const industries = ['government', 'finance', 'education', 'healthcare', 'manufacturing', 'retail', 'logistics', 'energy', 'media', 'hospitality', 'technology', 'other'] as const;

export interface AccountSummary {
  id: string;
  name: string;
  registrationNo: string | null;
  industry: string;
  tier: string;
  creditList: string;
  status: string;
  customerManagerName: string | null;
  orgUnitName: string | null;
  version: number;
  updatedAt: string;
}

export interface KeyAccount {
  id: string;
  name: string;
  registrationNo: string | null;
  industry: string;
  tier: string;
  creditList: string;
  creditLimitMinor: string | number;
  currency: string;
  status: string;
  customerManagerId: number | string | null;
  customerManagerName: string | null;
  orgUnitId: string;
  orgUnitName: string;
  address: string | null;
  notes: string | null;
  version: number;
  createdAt: string;
  updatedAt: string;
}

export interface Contact {
  id: string;
  name: string;
  title: string | null;
  role: string;
  isKeyPerson: boolean;
  phone: string | null;
  email: string | null;
  notes: string | null;
  version: number;
}

export interface AccountDetail extends KeyAccount {
  contacts: Contact[];
  contracts: { id: string; contractNo: string; title: string; status: string; startsOn: string | null; endsOn: string | null; valueMinor: string | number | null; currency: string }[];
  billingAccounts: { id: string; name: string; currency: string; billCycleDay: number; paymentMethod: string | null; status: string }[];
  subscriptions: { id: string; productName: string; serviceNumber: string | null; monthlyFeeMinor: string | number | null; quantity: number; status: string }[];
  openTickets: { id: string; title: string; kind: string; severity: string; status: string; slaDueAt: string | null; overdue: boolean }[];
  recentOrders: { id: string; orderType: string; status: string; submittedAt: string | null; monthlyTotalMinor: string | number; currency: string }[];
  recentBills: { id: string; billNo: string; period: string; status: string; totalMinor: string | number; paidMinor: string | number; currency: string; dueDate: string | null }[];
}

export interface AuditEntry {
  id: number;
  at: string;
  actor: string;
  action: string;
  entityType: string;
  entityId: string;
  before: unknown;
  after: unknown;
}

export const accountPath = (id: string) => `/api/accounts/${encodeURIComponent(id)}`;

export interface AccountListFilters {
  q?: string;
  tier?: string;
  creditList?: string;
  status?: string;
}

export const fetchAccounts = (filters: AccountListFilters, cursor: string | undefined) =>
  api<{ items: AccountSummary[]; nextCursor: string | null }>('/api/accounts', { query: { ...filters, limit: 50, cursor } });
export const fetchAccount = (id: string) => api<AccountDetail>(accountPath(id));
export const updateAccount = (id: string, version: number, changes: Partial<KeyAccount>) => api<KeyAccount>(accountPath(id), { method: 'PATCH', body: { version, ...changes } });
export const changeCreditList = (id: string, version: number, creditList: string, reason: string) =>
  api<KeyAccount>(`${accountPath(id)}/credit-list`, { method: 'PUT', body: { version, creditList, reason } });
export const updateContact = (id: string, version: number, changes: Partial<Contact>) => api<Contact>(`/api/contacts/${encodeURIComponent(id)}`, { method: 'PATCH', body: { version, ...changes } });
