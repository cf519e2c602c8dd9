/**
 * Notice templates in Chinese and English. Placeholders are `{{name}}`, or `{{name|money}}` for an
 * amount in integer minor units (rendered `1,234.50`). A missing or malformed parameter is an
 * error, never an empty gap in a message a customer reads.
 */
export const notificationLocales = ['zh-CN', 'en'] as const;
export type NotificationLocale = (typeof notificationLocales)[number];

interface Template {
  subject: Record<NotificationLocale, string>;
  text: Record<NotificationLocale, string>;
}

export const notificationTemplates = {
  'order.accepted': {
    subject: { 'zh-CN': '订单已受理：{{orderId}}', en: 'Order accepted: {{orderId}}' },
    text: {
      'zh-CN': '【Keyflow】尊敬的{{customerName}}，您的订单{{orderId}}已受理，我们将尽快为您开通。',
      en: '[Keyflow] Dear {{customerName}}, your order {{orderId}} has been accepted and will be activated shortly.',
    },
  },
  'order.completed': {
    subject: { 'zh-CN': '订单已完成：{{orderId}}', en: 'Order completed: {{orderId}}' },
    text: {
      'zh-CN': '【Keyflow】尊敬的{{customerName}}，您的订单{{orderId}}已开通完成，次月账单起计费。感谢您的支持。',
      en: '[Keyflow] Dear {{customerName}}, your order {{orderId}} is complete and billed from your next bill. Thank you.',
    },
  },
  'order.cancelled': {
    subject: { 'zh-CN': '订单已取消：{{orderId}}', en: 'Order cancelled: {{orderId}}' },
    text: {
      'zh-CN': '【Keyflow】尊敬的{{customerName}}，您的订单{{orderId}}已取消，已预留的资源与账户均已撤销。',
      en: '[Keyflow] Dear {{customerName}}, your order {{orderId}} has been cancelled; what was reserved and opened for it is withdrawn.',
    },
  },
  'order.managerNotice': {
    subject: { 'zh-CN': '订单{{orderId}}：{{state}}', en: 'Order {{orderId}}: {{state}}' },
    text: {
      'zh-CN': '【Keyflow】客户{{customerName}}的订单{{orderId}}状态：{{state}}。',
      en: '[Keyflow] Order {{orderId}} of {{customerName}} is {{state}}.',
    },
  },
  'service.activated': {
    subject: { 'zh-CN': '业务已开通：{{serviceId}}', en: 'Service activated: {{serviceId}}' },
    text: {
      'zh-CN': '【Keyflow】尊敬的{{customerName}}，您的业务{{serviceId}}已于{{activatedAt}}开通，感谢您的支持。',
      en: '[Keyflow] Dear {{customerName}}, your service {{serviceId}} was activated at {{activatedAt}}. Thank you.',
    },
  },
  'service.suspended': {
    subject: { 'zh-CN': '业务已暂停：{{serviceId}}', en: 'Service suspended: {{serviceId}}' },
    text: {
      'zh-CN': '【Keyflow】尊敬的{{customerName}}，您的业务{{serviceId}}因{{reason}}已暂停。如有疑问请联系您的客户经理。',
      en: '[Keyflow] Dear {{customerName}}, your service {{serviceId}} has been suspended ({{reason}}). Please contact your account manager.',
    },
  },
  'bill.issued': {
    subject: { 'zh-CN': '{{period}}账单：¥{{amountMinor|money}}', en: 'Bill for {{period}}: CNY {{amountMinor|money}}' },
    text: {
      'zh-CN': '【Keyflow】尊敬的{{customerName}}，您{{period}}的账单{{billNumber}}金额为¥{{amountMinor|money}}，请于{{dueDate}}前缴费。',
      en: '[Keyflow] Dear {{customerName}}, your bill {{billNumber}} for {{period}} is CNY {{amountMinor|money}}, due by {{dueDate}}.',
    },
  },
  'payment.reminder': {
    subject: { 'zh-CN': '缴费提醒：账单{{billNumber}}', en: 'Payment reminder: bill {{billNumber}}' },
    text: {
      'zh-CN': '【Keyflow】尊敬的{{customerName}}，您的账单{{billNumber}}尚有¥{{amountMinor|money}}未缴，已过缴费期{{dueDate}}，请尽快缴费以免影响使用。',
      en: '[Keyflow] Dear {{customerName}}, CNY {{amountMinor|money}} of bill {{billNumber}} was due on {{dueDate}} and is unpaid. Please pay soon to avoid interruption.',
    },
  },
  'payment.received': {
    subject: { 'zh-CN': '缴费成功：¥{{amountMinor|money}}', en: 'Payment received: CNY {{amountMinor|money}}' },
    text: {
      'zh-CN': '【Keyflow】尊敬的{{customerName}}，我们已收到您缴纳的¥{{amountMinor|money}}（参考号{{reference}}），谢谢。',
      en: '[Keyflow] Dear {{customerName}}, we have received your payment of CNY {{amountMinor|money}} (reference {{reference}}). Thank you.',
    },
  },
  'ticket.acknowledged': {
    subject: { 'zh-CN': '工单已受理：{{ticketId}}', en: 'Ticket received: {{ticketId}}' },
    text: {
      'zh-CN': '【Keyflow】尊敬的{{customerName}}，您反映的问题已生成工单{{ticketId}}，我们将在{{promisedBy}}前处理完毕。',
      en: '[Keyflow] Dear {{customerName}}, your report is ticket {{ticketId}}; we will resolve it by {{promisedBy}}.',
    },
  },
  'ticket.resolved': {
    subject: { 'zh-CN': '工单已处理：{{ticketId}}', en: 'Ticket resolved: {{ticketId}}' },
    text: {
      'zh-CN': '【Keyflow】尊敬的{{customerName}}，您的工单{{ticketId}}已处理完毕：{{resolution}}。',
      en: '[Keyflow] Dear {{customerName}}, ticket {{ticketId}} has been resolved: {{resolution}}.',
    },
  },
  'ticket.slaReminder': {
    subject: { 'zh-CN': '工单时限提醒：{{ticketId}}', en: 'SLA reminder: {{ticketId}}' },
    text: {
      'zh-CN': '【Keyflow】工单{{ticketId}}已用去75%的处理时限，请于{{dueAt}}前处理完毕。',
      en: '[Keyflow] Ticket {{ticketId}} has used 75% of its SLA; resolve it by {{dueAt}}.',
    },
  },
} as const satisfies Record<string, Template>;

export type NotificationTemplateId = keyof typeof notificationTemplates;
export const notificationTemplateIds = Object.keys(notificationTemplates) as [NotificationTemplateId, ...NotificationTemplateId[]];

export type TemplateParams = Record<string, string | number>;

/** A template could not be rendered with the parameters given; names every problem. */
export class TemplateError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('; '));
    this.name = 'TemplateError';
  }
}

const placeholder = /\{\{\s*([A-Za-z][A-Za-z0-9_]*)\s*(?:\|\s*([a-z]+)\s*)?\}\}/g;

export function renderTemplate(id: NotificationTemplateId, locale: NotificationLocale, params: TemplateParams): { subject: string; text: string } {
  const template: Template = notificationTemplates[id];
  const problems: string[] = [];
  const render = (source: string) =>
    source.replace(placeholder, (_whole, name: string, filter: string | undefined) => {
      const value = Object.hasOwn(params, name) ? params[name] : undefined;
      if (value === undefined || value === '') {
        problems.push(`${name} is missing`);
        return '';
      }
      if (filter === 'money') {
        if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
          problems.push(`${name} must be an integer amount in minor units`);
          return '';
        }
        return formatMinorUnits(value);
      }
      if (filter !== undefined) {
        problems.push(`${name} has an unknown filter ${filter}`);
        return '';
      }
      return String(value);
    });
  const rendered = { subject: render(template.subject[locale]), text: render(template.text[locale]) };
  if (problems.length > 0) throw new TemplateError([...new Set(problems)].map((problem) => `template ${id} (${locale}): ${problem}`));
  return rendered;
}

/** 123456 → "1,234.56"; -5 → "-0.05". Two decimals: CNY's fen (and most currencies' cents). */
export function formatMinorUnits(amount: number): string {
  const sign = amount < 0 ? '-' : '';
  const absolute = Math.abs(amount);
  const major = Math.floor(absolute / 100);
  const minor = absolute % 100;
  return `${sign}${major.toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',')}.${minor.toString().padStart(2, '0')}`;
}
