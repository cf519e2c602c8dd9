import { language } from '../../../../i18n';
import zh from './zh.json';

const dictionary: Record<string, string> = zh;

/**
 * bpmn-js's `translate` service, in the app's language: the palette, context pad, replace menu and
 * the properties panel's own groups ask it for every label. English is bpmn-js's own text.
 */
function translate(template: string, replacements: Record<string, string> = {}): string {
  const text = language.value === 'zh' ? (dictionary[template] ?? template) : template;
  return text.replace(/{([^}]+)}/g, (_, key: string) => replacements[key] ?? `{${key}}`);
}

export const translateModule = { translate: ['value', translate] };
