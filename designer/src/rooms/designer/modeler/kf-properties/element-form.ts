import { schemaFromFormFields } from '../../../../../../workflows/bpmn/form-schema';
import type { FormField } from '../../../../../../workflows/model';

/**
 * An element's form in the diagram: a designed form-js schema (`kf:formDefinition`) or the older
 * `kf:formField` list. Reading gives the designer a schema to start from either way; writing
 * replaces both with one designed form, in a single command so Ctrl+Z undoes it whole.
 */

type ModdleElement = { $type: string; get(name: string): any; [key: string]: any };
type DiagramElement = { id: string; businessObject: ModdleElement };
type Services = { get(name: string): any };

/** The event the properties panel fires to ask the designer room to open the form editor. */
export const editFormEvent = 'keyflow.editForm';

/** Where a form belongs: user tasks, and the none start event of the process (what a hand start may give). */
export function takesForm(element: { type: string; businessObject: ModdleElement }): boolean {
  if (element.type === 'bpmn:UserTask') return true;
  const business = element.businessObject;
  return element.type === 'bpmn:StartEvent' && (business.eventDefinitions ?? []).length === 0 && business.$parent?.$type === 'bpmn:Process';
}

function extensionValues(business: ModdleElement): ModdleElement[] {
  return business.get('extensionElements')?.get('values') ?? [];
}

export interface ElementForm {
  /** The schema to open in the editor. */
  schema: Record<string, unknown>;
  /** Where it came from: a designed form, a list of fields, or nothing yet. */
  origin: 'designed' | 'fields' | 'none';
  /** A designed form whose JSON did not parse; the editor then starts empty and says so. */
  unreadable?: string;
}

export function readElementForm(element: DiagramElement): ElementForm {
  const values = extensionValues(element.businessObject);
  const designed = values.find((value) => value.$type === 'kf:FormDefinition');
  if (designed) {
    try {
      return { schema: JSON.parse(String(designed.body ?? '')), origin: 'designed' };
    } catch (error) {
      return { schema: schemaFromFormFields([], `Form_${element.id}`), origin: 'designed', unreadable: (error as Error).message };
    }
  }
  const listed = values.filter((value) => value.$type === 'kf:FormField');
  if (listed.length === 0) return { schema: schemaFromFormFields([], `Form_${element.id}`), origin: 'none' };
  const fields = listed.map(
    (field): FormField => ({
      id: String(field.id ?? ''),
      type: (field.type ?? 'string') as FormField['type'],
      ...(field.label ? { label: String(field.label) } : {}),
      ...(field.required ? { required: true } : {}),
      ...(field.values ? { values: String(field.values).split(',').map((value: string) => value.trim()).filter(Boolean) } : {}),
      ...(typeof field.min === 'number' ? { min: field.min } : {}),
      ...(typeof field.max === 'number' ? { max: field.max } : {}),
      ...(typeof field.maxLength === 'number' ? { maxLength: field.maxLength } : {}),
    }),
  );
  return { schema: schemaFromFormFields(fields, `Form_${element.id}`), origin: 'fields' };
}

/** What the panel shows of a form without opening it: how many fields, and which. */
export function formFieldKeys(element: DiagramElement): string[] | null {
  const values = extensionValues(element.businessObject);
  const designed = values.find((value) => value.$type === 'kf:FormDefinition');
  if (designed) {
    const keys: string[] = [];
    const visit = (components: unknown): void => {
      for (const component of Array.isArray(components) ? components : []) {
        if (component && typeof component === 'object') {
          const { key, components: nested } = component as { key?: unknown; components?: unknown };
          if (typeof key === 'string') keys.push(key);
          visit(nested);
        }
      }
    };
    try {
      visit(JSON.parse(String(designed.body ?? '')).components);
    } catch {
      return [];
    }
    return keys;
  }
  const listed = values.filter((value) => value.$type === 'kf:FormField');
  return listed.length ? listed.map((field) => String(field.id ?? '')) : null;
}

/** Replaces the element's form (designed or listed) with `schema`, or removes it when `schema` is null. */
export function writeElementForm(services: Services, element: DiagramElement, schema: Record<string, unknown> | null): void {
  const moddle = services.get('moddle');
  const business = element.businessObject;
  const commands: { cmd: string; context: Record<string, unknown> }[] = [];
  let extensionElements = business.get('extensionElements');
  if (!extensionElements) {
    if (!schema) return;
    extensionElements = moddle.create('bpmn:ExtensionElements', { values: [] });
    extensionElements.$parent = business;
    commands.push({ cmd: 'element.updateModdleProperties', context: { element, moddleElement: business, properties: { extensionElements } } });
  }
  const kept = (extensionElements.get('values') as ModdleElement[]).filter((value) => value.$type !== 'kf:FormField' && value.$type !== 'kf:FormDefinition');
  const values = [...kept];
  if (schema) {
    const definition = moddle.create('kf:FormDefinition', { body: JSON.stringify(schema, null, 2) });
    definition.$parent = extensionElements;
    values.push(definition);
  }
  commands.push({ cmd: 'element.updateModdleProperties', context: { element, moddleElement: extensionElements, properties: { values } } });
  services.get('commandStack').execute('properties-panel.multi-command-executor', commands);
}
