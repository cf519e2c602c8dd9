import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import appEn from '../../../designer/src/i18n/en.json';
import appZh from '../../../designer/src/i18n/zh.json';
import bpmnZh from '../../../designer/src/rooms/designer/modeler/translate/zh.json';

const roomsDir = path.join(__dirname, '..', '..', '..', 'designer', 'src', 'rooms');

/** The app's catalogue with every room's own (`rooms/<room>/i18n/<language>.json`) beside it, as the app merges them. */
function catalogue(language: 'en' | 'zh', own: object): object {
  const merged: Record<string, unknown> = { ...own };
  for (const room of readdirSync(roomsDir)) {
    const file = path.join(roomsDir, room, 'i18n', `${language}.json`);
    if (!existsSync(file)) continue;
    for (const [key, value] of Object.entries(JSON.parse(readFileSync(file, 'utf8')) as object)) {
      if (key in merged) throw new Error(`${file} redefines the key "${key}"`);
      merged[key] = value;
    }
  }
  return merged;
}
const en = catalogue('en', appEn);
const zh = catalogue('zh', appZh);

/** Every key of a catalogue, with i18next's plural suffixes folded (zh has one form, en two). */
function keys(catalogue: object, prefix = ''): string[] {
  return Object.entries(catalogue).flatMap(([key, value]) =>
    typeof value === 'object' && value !== null ? keys(value, `${prefix}${key}.`) : [`${prefix}${key.replace(/_(zero|one|two|few|many|other)$/, '')}`],
  );
}

describe("the web app's catalogues", () => {
  it('have the same keys in English and Chinese', () => {
    const english = new Set(keys(en));
    const chinese = new Set(keys(zh));

    expect([...english].filter((key) => !chinese.has(key))).toEqual([]);
    expect([...chinese].filter((key) => !english.has(key))).toEqual([]);
  });

  it('give every English plural its "other" form, which Chinese uses for every count', () => {
    const flat = (catalogue: object, prefix = ''): string[] =>
      Object.entries(catalogue).flatMap(([key, value]) => (typeof value === 'object' && value !== null ? flat(value, `${prefix}${key}.`) : [`${prefix}${key}`]));
    const english = flat(en);
    for (const one of english.filter((key) => key.endsWith('_one'))) expect(english).toContain(one.replace(/_one$/, '_other'));
    for (const key of flat(zh)) expect(key).not.toMatch(/_one$/);
  });

  it("translate bpmn-js's labels to non-empty Chinese text", () => {
    for (const [english, chinese] of Object.entries(bpmnZh)) expect({ english, chinese: chinese.trim() === '' ? null : 'ok' }).toEqual({ english, chinese: 'ok' });
  });
});
