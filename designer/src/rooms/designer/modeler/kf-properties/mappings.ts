import { FeelEntry, isFeelEntryEdited, isTextFieldEntryEdited, ListGroup, TextFieldEntry } from '@bpmn-io/properties-panel';
import { h } from '@bpmn-io/properties-panel/preact';
import { useService } from 'bpmn-js-properties-panel';
import { t } from '../../../../i18n';

/**
 * A node's variable mappings as two lists in the panel: inputs (`kf:input`, evaluated before the
 * node runs; a service task then gets only these) and outputs (`kf:output`, evaluated against the
 * result on completion). Adding, editing and removing are `modeling` commands, so undo works.
 */

type ModdleElement = { $type: string; get(name: string): any; [key: string]: any };
type Element = { id: string; type: string; businessObject: ModdleElement };
type Services = { get(name: string): any };
export type Mapping = 'kf:Input' | 'kf:Output';

export function mappingsOf(element: Element, type: Mapping): ModdleElement[] {
  return ((element.businessObject.get('extensionElements')?.get('values') ?? []) as ModdleElement[]).filter((value) => value.$type === type);
}

function addMapping(services: Services, element: Element, type: Mapping): void {
  const moddle = services.get('moddle');
  const business = element.businessObject;
  const commands: { cmd: string; context: Record<string, unknown> }[] = [];
  let extensionElements = business.get('extensionElements');
  if (!extensionElements) {
    extensionElements = moddle.create('bpmn:ExtensionElements', { values: [] });
    extensionElements.$parent = business;
    commands.push({ cmd: 'element.updateModdleProperties', context: { element, moddleElement: business, properties: { extensionElements } } });
  }
  const mapping = moddle.create(type, {});
  mapping.$parent = extensionElements;
  commands.push({ cmd: 'element.updateModdleProperties', context: { element, moddleElement: extensionElements, properties: { values: [...extensionElements.get('values'), mapping] } } });
  services.get('commandStack').execute('properties-panel.multi-command-executor', commands);
}

function removeMapping(services: Services, element: Element, mapping: ModdleElement): void {
  const extensionElements = element.businessObject.get('extensionElements');
  const values = (extensionElements.get('values') as ModdleElement[]).filter((value) => value !== mapping);
  services.get('modeling').updateModdleProperties(element, extensionElements, { values });
}

// The components are module-level so Preact keeps them mounted while the panel re-renders (a
// new function per render would remount the editor and drop what is being typed).
function MappingSource({ element, id, mapping }: { element: Element; id: string; mapping: ModdleElement }) {
  const modeling = useService('modeling');
  const debounce = useService('debounceInput');
  return h(FeelEntry, {
    element,
    id,
    label: t('props.mappingSource'),
    feel: 'required',
    debounce,
    getValue: () => mapping.get('source') ?? '',
    setValue: (value: string) => modeling.updateModdleProperties(element, mapping, { source: value || undefined }),
  });
}

function MappingTarget({ element, id, mapping, type }: { element: Element; id: string; mapping: ModdleElement; type: Mapping }) {
  const modeling = useService('modeling');
  const debounce = useService('debounceInput');
  return h(TextFieldEntry, {
    element,
    id,
    label: t('props.mappingTarget'),
    description: t(type === 'kf:Input' ? 'props.inputTargetHint' : 'props.outputTargetHint'),
    debounce,
    getValue: () => mapping.get('target') ?? '',
    setValue: (value: string) => modeling.updateModdleProperties(element, mapping, { target: value || undefined }),
    validate: (value: string) => (!value ? t('props.mappingTargetMissing') : /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/.test(value) ? null : t('props.mappingTargetInvalid')),
  });
}

/** The list group for one kind of mapping of `element`, in the shape `ListGroup` takes. */
export function mappingGroup(element: Element, type: Mapping, services: Services) {
  const kind = type === 'kf:Input' ? 'input' : 'output';
  const items = mappingsOf(element, type).map((mapping, index) => {
    const id = `${element.id}-kf-${kind}-${index}`;
    const source = String(mapping.get('source') ?? '');
    const target = String(mapping.get('target') ?? '');
    return {
      id,
      label: target || source ? `${target || '?'} ← ${source || '?'}` : t('props.mappingEmpty'),
      entries: [
        { id: `${id}-target`, component: MappingTarget, mapping, type, isEdited: isTextFieldEntryEdited },
        { id: `${id}-source`, component: MappingSource, mapping, isEdited: isFeelEntryEdited },
      ],
      autoFocusEntry: `${id}-target`,
      remove: () => removeMapping(services, element, mapping),
    };
  });
  return {
    id: `kf-${kind}s`,
    label: t(type === 'kf:Input' ? 'props.group.inputs' : 'props.group.outputs'),
    component: ListGroup,
    items,
    add: (event: Event) => {
      event.stopPropagation();
      addMapping(services, element, type);
    },
    shouldSort: false,
    // ListGroup speaks English unless handed bpmn-js's translate (its "Create", "Delete item", …)
    translate: services.get('translate'),
  };
}
