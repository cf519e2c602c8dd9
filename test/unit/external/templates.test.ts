import { formatMinorUnits, notificationLocales, notificationTemplates, renderTemplate, TemplateError } from '../../../activities/external/templates';

describe('notice templates', () => {
  it('renders Chinese and English with amounts in minor units', () => {
    const params = { customerName: '王经理', period: '2025年1月', billNumber: 'B-202501-0001', amountMinor: 1_234_550, dueDate: '2025-02-20' };
    expect(renderTemplate('bill.issued', 'zh-CN', params)).toEqual({
      subject: '2025年1月账单：¥12,345.50',
      text: '【Keyflow】尊敬的王经理，您2025年1月的账单B-202501-0001金额为¥12,345.50，请于2025-02-20前缴费。',
    });
    expect(renderTemplate('bill.issued', 'en', { ...params, customerName: 'Mr Wang', period: 'January 2025' }).text).toBe(
      '[Keyflow] Dear Mr Wang, your bill B-202501-0001 for January 2025 is CNY 12,345.50, due by 2025-02-20.',
    );
  });

  it('names every missing parameter at once', () => {
    expect(() => renderTemplate('payment.reminder', 'en', { customerName: 'Ms Li' })).toThrow(TemplateError);
    try {
      renderTemplate('payment.reminder', 'en', { customerName: 'Ms Li' });
    } catch (error) {
      expect((error as TemplateError).problems).toEqual([
        'template payment.reminder (en): billNumber is missing',
        'template payment.reminder (en): amountMinor is missing',
        'template payment.reminder (en): dueDate is missing',
      ]);
    }
  });

  it('refuses a money amount that is not an integer of minor units', () => {
    expect(() => renderTemplate('payment.received', 'zh-CN', { customerName: '陈', amountMinor: 10.5, reference: 'R' })).toThrow(/amountMinor must be an integer amount in minor units/);
    expect(() => renderTemplate('payment.received', 'zh-CN', { customerName: '陈', amountMinor: '1050', reference: 'R' })).toThrow(/minor units/);
  });

  it('does not read inherited properties as parameters', () => {
    expect(() => renderTemplate('order.accepted', 'en', Object.create({ customerName: 'x', orderId: 'y' }))).toThrow(/customerName is missing/);
  });

  it('has every template in both languages with the same placeholders', () => {
    const placeholders = (text: string) => [...text.matchAll(/\{\{\s*([A-Za-z0-9_]+)/g)].map((match) => match[1]).sort();
    for (const [id, template] of Object.entries(notificationTemplates)) {
      for (const part of ['subject', 'text'] as const) {
        const [first, ...others] = notificationLocales.map((locale) => placeholders(template[part][locale]));
        for (const other of others) expect([id, part, other]).toEqual([id, part, first]);
      }
    }
  });

  it.each([
    [0, '0.00'],
    [5, '0.05'],
    [100, '1.00'],
    [123_456, '1,234.56'],
    [-5, '-0.05'],
    [100_000_000_00, '100,000,000.00'],
  ])('formats %i minor units as %s', (amount, text) => {
    expect(formatMinorUnits(amount)).toBe(text);
  });
});
