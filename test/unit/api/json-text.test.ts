import { JsonText } from '../../../api/routing';

describe('a JSON body sent in parts', () => {
  it('is the bytes of its parts joined, whatever script they are in', () => {
    const page = '{"id":"KA00000001","name":"深圳海德文化 Ünited \\u2028 😀"}';
    const parts = ['{"items":[', page.slice(0, 40), page.slice(40), '],"nextCursor":null}'];
    const body = new JsonText(...parts).toBuffer();

    expect(body.equals(Buffer.from(parts.join(''), 'utf8'))).toBe(true);
    expect(JSON.parse(body.toString('utf8'))).toEqual({ items: [{ id: 'KA00000001', name: '深圳海德文化 Ünited \u2028 😀' }], nextCursor: null });
  });

  it('is empty when it has no parts', () => {
    expect(new JsonText().toBuffer().length).toBe(0);
  });
});
