import { z } from 'zod';
import { inputContract } from '../../../activities/input-contract';

describe("a service task's input contract", () => {
  it('lists the fields of its input schema with their types, looking through defaults, optionals and refinements', () => {
    const schema = z
      .object({
        billRunId: z.coerce.number().int().positive(),
        amount: z.number().describe('in fen'),
        channel: z.enum(['sms', 'email']).default('sms'),
        note: z.string().max(500).optional(),
        urgent: z.boolean().nullable(),
        lines: z.array(z.string()),
        extra: z.record(z.unknown()).optional(),
        code: z.string().transform((value) => value.toUpperCase()),
      })
      .refine((input) => input.amount >= 0);

    expect(inputContract(schema)).toEqual([
      { name: 'billRunId', type: 'integer', required: true },
      { name: 'amount', type: 'number', required: true, description: 'in fen' },
      { name: 'channel', type: 'enum', values: ['sms', 'email'], required: false, hasDefault: true },
      { name: 'note', type: 'string', required: false },
      { name: 'urgent', type: 'boolean', required: false },
      { name: 'lines', type: 'array', required: true },
      { name: 'extra', type: 'object', required: false },
      { name: 'code', type: 'string', required: true },
    ]);
  });

  it('is empty for an input that is not an object', () => {
    expect(inputContract(z.string())).toEqual([]);
  });
});
