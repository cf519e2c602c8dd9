import i18next from 'i18next';
import { signal } from '@preact/signals';
import en from './en.json';
import zh from './zh.json';

type Catalogue = Record<string, unknown>;

/**
 * Each room keeps its own strings beside its code (`rooms/<room>/i18n/<language>.json`, keyed by the
 * room's id), so rooms grow without sharing one file; the app's own catalogue holds the rest.
 */
const roomCatalogues = import.meta.glob<Catalogue>('../rooms/*/i18n/*.json', { eager: true, import: 'default' });

function catalogueFor(language: string, own: Catalogue): Catalogue {
  const merged: Catalogue = { ...own };
  for (const [file, catalogue] of Object.entries(roomCatalogues)) {
    if (!file.endsWith(`/${language}.json`)) continue;
    for (const [key, value] of Object.entries(catalogue)) {
      if (key in merged) throw new Error(`i18n: ${file} redefines the key "${key}"`);
      merged[key] = value;
    }
  }
  return merged;
}

/** The languages the app speaks; English is the default, the choice is remembered per browser. */
export const languages = ['en', 'zh'] as const;
export type Language = (typeof languages)[number];
const storageKey = 'keyflow.language';

function storedLanguage(): Language {
  const stored = typeof localStorage === 'undefined' ? null : localStorage.getItem(storageKey);
  return (languages as readonly string[]).includes(stored ?? '') ? (stored as Language) : 'en';
}

/** The current language: reading it in a component re-renders that component when it changes. */
export const language = signal<Language>(storedLanguage());

void i18next.init({
  lng: language.value,
  fallbackLng: false,
  resources: { en: { translation: catalogueFor('en', en) }, zh: { translation: catalogueFor('zh', zh) } },
  interpolation: { escapeValue: false },
  returnNull: false,
  initAsync: false,
});
document.documentElement.lang = language.value === 'zh' ? 'zh-CN' : 'en';

export function setLanguage(next: Language): void {
  localStorage.setItem(storageKey, next);
  void i18next.changeLanguage(next);
  document.documentElement.lang = next === 'zh' ? 'zh-CN' : 'en';
  language.value = next;
}

/** Translates a catalogue key; subscribing to the language signal keeps the caller current. */
export function t(key: string, options?: Record<string, unknown>): string {
  void language.value;
  return String(i18next.t(key, (options ?? {}) as never));
}
