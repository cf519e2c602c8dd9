import { CheckboxEntry, FeelEntry, isCheckboxEntryEdited, isFeelEntryEdited, isSelectEntryEdited, isTextFieldEntryEdited, SelectEntry, TextFieldEntry } from '@bpmn-io/properties-panel';
import { h } from '@bpmn-io/properties-panel/preact';
import { useService } from 'bpmn-js-properties-panel';
import { t } from '../../../../i18n';
import { modelingCatalogue } from './catalogue';
import { editFormEvent, formFieldKeys, takesForm } from './element-form';
import { mappingGroup, mappingsOf } from './mappings';
import { readTimer } from './timer-reading';

type Element = { id: string; type: string; businessObject: any };
type Entry = { id: string; component: (props: { element: Element; id: string }) => unknown; isEdited?: (node: unknown) => boolean };
type GroupSpec = { id: string; label: string; entries: Entry[] };

const isoDuration = /^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$/;

function is(element: Element, type: string): boolean {
  return element.businessObject?.$instanceOf?.(type) ?? false;
}

function eventDefinition(element: Element, type: string): any {
  return (element.businessObject.eventDefinitions ?? []).find((definition: any) => definition.$instanceOf(type));
}

/** A text entry over one `kf:` attribute of the element; changes go through `modeling` (undoable). */
function kfText(name: string, label: string, options: { description?: string; validate?: (value: string) => string | null } = {}): Entry {
  return {
    id: `kf-${name}`,
    isEdited: isTextFieldEntryEdited,
    component: ({ element, id }) => {
      const modeling = useService('modeling');
      const debounce = useService('debounceInput');
      return h(TextFieldEntry, {
        element,
        id,
        label: t(label),
        description: options.description ? t(options.description) : undefined,
        debounce,
        getValue: () => element.businessObject.get(`kf:${name}`) ?? '',
        setValue: (value: string) => modeling.updateProperties(element, { [`kf:${name}`]: value === '' ? undefined : value }),
        validate: options.validate ? (value: string) => (value ? options.validate!(value) : null) : undefined,
      });
    },
  };
}

/** A FEEL entry over one `kf:` attribute: `=` marks an expression, as everywhere in Keyflow. */
function kfFeel(name: string, label: string, feel: 'optional' | 'required', description?: string): Entry {
  return {
    id: `kf-${name}`,
    isEdited: isFeelEntryEdited,
    component: ({ element, id }) => {
      const modeling = useService('modeling');
      const debounce = useService('debounceInput');
      return h(FeelEntry, {
        element,
        id,
        label: t(label),
        description: description ? t(description) : undefined,
        feel,
        debounce,
        getValue: () => element.businessObject.get(`kf:${name}`) ?? '',
        setValue: (value: string) => modeling.updateProperties(element, { [`kf:${name}`]: value === '' ? undefined : value }),
      });
    },
  };
}

const serviceTaskEntries: Entry[] = [
  {
    id: 'kf-type',
    isEdited: isSelectEntryEdited,
    component: ({ element, id }) => {
      const modeling = useService('modeling');
      const current = element.businessObject.get('kf:type') ?? '';
      const known = modelingCatalogue.value.activityTypes;
      const chosen = known.find((entry) => entry.type === current);
      return h(SelectEntry, {
        element,
        id,
        label: t('props.serviceType'),
        description: chosen ? chosen.description : current ? t('props.unknownType') : t('props.serviceTypeHint'),
        getValue: () => current,
        setValue: (value: string) => modeling.updateProperties(element, { 'kf:type': value || undefined }),
        getOptions: () => [
          { value: '', label: t('props.choose') },
          ...(current && !chosen ? [{ value: current, label: current }] : []),
          ...known.map((entry) => ({ value: entry.type, label: entry.type })),
        ],
      });
    },
  },
  {
    // What the chosen activity reads: the schema it checks its input with, and what the inputs below leave out.
    id: 'kf-type-contract',
    component: ({ element, id }) => {
      const chosen = modelingCatalogue.value.activityTypes.find((entry) => entry.type === element.businessObject.get('kf:type'));
      if (!chosen || chosen.input.length === 0) return null;
      const targets = new Set(mappingsOf(element, 'kf:Input').map((mapping) => String(mapping.get('target') ?? '').split('.')[0]));
      const missing = targets.size > 0 ? chosen.input.filter((field) => field.required && !targets.has(field.name)).map((field) => field.name) : [];
      return h('div', { class: 'bio-properties-panel-entry kf-contract', 'data-entry-id': id }, [
        h('p', { class: 'bio-properties-panel-description' }, t('props.reads')),
        h(
          'ul',
          { class: 'kf-contract-fields' },
          chosen.input.map((field) =>
            h('li', { key: field.name }, [
              h('code', null, field.name),
              ` ${field.values ? field.values.join(' | ') : field.type}`,
              field.required ? h('span', { class: 'kf-contract-required' }, ` · ${t('props.required')}`) : null,
            ]),
          ),
        ),
        missing.length ? h('p', { class: 'bio-properties-panel-description kf-contract-missing', role: 'status' }, t('props.inputsMissing', { names: missing.join(', ') })) : null,
      ]);
    },
  },
  kfText('retries', 'props.retries', { description: 'props.retriesHint', validate: (value) => (/^\d+$/.test(value) && Number(value) >= 1 && Number(value) <= 100 ? null : t('props.retriesInvalid')) }),
  kfText('timeout', 'props.timeout', { description: 'props.timeoutHint', validate: (value) => (isoDuration.test(value) ? null : t('props.durationInvalid')) }),
  kfText('retryBackoff', 'props.retryBackoff', { validate: (value) => (isoDuration.test(value) ? null : t('props.durationInvalid')) }),
];

/** One checkbox per staff role over a comma-separated `kf:` list attribute (candidate groups, starters). */
function roleChecklist(attribute: 'candidateGroups' | 'starters', label: string): Entry[] {
  return modelingCatalogue.value.candidateGroups.map((role) => ({
    id: `kf-${attribute}-${role}`,
    isEdited: isCheckboxEntryEdited,
    component: ({ element, id }) => {
      const modeling = useService('modeling');
      const chosen = (): string[] =>
        String(element.businessObject.get(`kf:${attribute}`) ?? '')
          .split(',')
          .map((entry) => entry.trim())
          .filter(Boolean);
      return h(CheckboxEntry, {
        element,
        id,
        label: t(label, { group: t(`roles.${role}`, { defaultValue: role }) }),
        getValue: () => chosen().includes(role),
        setValue: (checked: boolean) => {
          const next = checked ? [...new Set([...chosen(), role])] : chosen().filter((entry) => entry !== role);
          modeling.updateProperties(element, { [`kf:${attribute}`]: next.length ? next.join(',') : undefined });
        },
      });
    },
  }));
}

/** The form a completion (or a hand start) fills in: a summary, and the button that opens the form editor. */
const formEntry: Entry = {
  id: 'kf-form',
  component: ({ element, id }) => {
    const eventBus = useService('eventBus');
    const keys = formFieldKeys(element);
    return h('div', { class: 'bio-properties-panel-entry kf-form-entry', 'data-entry-id': id }, [
      h('p', { class: 'bio-properties-panel-description' }, keys === null ? t('props.formNone') : t('props.formFields', { count: keys.length, keys: keys.join(', ') })),
      h('button', { type: 'button', class: 'kf-button', id: `bio-properties-panel-${id}`, onClick: () => eventBus.fire(editFormEvent, { element }) }, t(keys === null ? 'props.formDesign' : 'props.formEdit')),
    ]);
  },
};

const userTaskEntries = (): Entry[] => [
  ...roleChecklist('candidateGroups', 'props.candidateGroup'),
  kfFeel('assignee', 'props.assignee', 'optional', 'props.assigneeHint'),
  kfFeel('dueDate', 'props.dueDate', 'optional', 'props.dueDateHint'),
  kfText('priority', 'props.priority', { validate: (value) => (/^\d+$/.test(value) && Number(value) <= 100 ? null : t('props.priorityInvalid')) }),
  kfText('formKey', 'props.formKey'),
  formEntry,
];

const timerKinds = ['timeDuration', 'timeDate', 'timeCycle'] as const;
type TimerKind = (typeof timerKinds)[number];

function timerKind(definition: any): TimerKind {
  return timerKinds.find((kind) => definition[kind]) ?? 'timeDuration';
}

const timerEntries: Entry[] = [
  {
    id: 'kf-timer-kind',
    isEdited: isSelectEntryEdited,
    component: ({ element, id }) => {
      const modeling = useService('modeling');
      const bpmnFactory = useService('bpmnFactory');
      const definition = eventDefinition(element, 'bpmn:TimerEventDefinition');
      return h(SelectEntry, {
        element,
        id,
        label: t('props.timerKind'),
        getValue: () => timerKind(definition),
        setValue: (kind: TimerKind) => {
          const previous = definition[timerKind(definition)]?.body ?? '';
          const changes: Record<string, unknown> = { timeDuration: undefined, timeDate: undefined, timeCycle: undefined };
          changes[kind] = bpmnFactory.create('bpmn:FormalExpression', { body: previous });
          modeling.updateModdleProperties(element, definition, changes);
        },
        getOptions: () => timerKinds.map((kind) => ({ value: kind, label: t(`props.timer.${kind}`) })),
      });
    },
  },
  {
    id: 'kf-timer-value',
    isEdited: isTextFieldEntryEdited,
    component: ({ element, id }) => {
      const modeling = useService('modeling');
      const bpmnFactory = useService('bpmnFactory');
      const debounce = useService('debounceInput');
      const definition = eventDefinition(element, 'bpmn:TimerEventDefinition');
      const kind = timerKind(definition);
      const value = definition[kind]?.body ?? '';
      return h(TextFieldEntry, {
        element,
        id,
        label: t('props.timerValue'),
        description: readTimer(kind, value) ?? t(`props.timerExample.${kind}`),
        debounce,
        getValue: () => definition[timerKind(definition)]?.body ?? '',
        setValue: (next: string) => {
          const current = timerKind(definition);
          const expression = definition[current];
          if (expression) modeling.updateModdleProperties(element, expression, { body: next });
          else modeling.updateModdleProperties(element, definition, { [current]: bpmnFactory.create('bpmn:FormalExpression', { body: next }) });
        },
        validate: (next: string) => (next && readTimer(timerKind(definition), next) === null ? t('props.timerInvalid') : null),
      });
    },
  },
];

const interruptingEntry: Entry = {
  id: 'kf-interrupting',
  isEdited: isCheckboxEntryEdited,
  component: ({ element, id }) => {
    const modeling = useService('modeling');
    return h(CheckboxEntry, {
      element,
      id,
      label: t('props.interrupting'),
      description: t('props.interruptingHint'),
      getValue: () => element.businessObject.cancelActivity !== false,
      setValue: (checked: boolean) => modeling.updateProperties(element, { cancelActivity: checked }),
    });
  },
};

const conditionEntry: Entry = {
  id: 'kf-condition',
  isEdited: isFeelEntryEdited,
  component: ({ element, id }) => {
    const modeling = useService('modeling');
    const bpmnFactory = useService('bpmnFactory');
    const debounce = useService('debounceInput');
    return h(FeelEntry, {
      element,
      id,
      label: t('props.condition'),
      description: t('props.conditionHint'),
      feel: 'required',
      debounce,
      getValue: () => element.businessObject.conditionExpression?.body ?? '',
      setValue: (value: string) =>
        modeling.updateProperties(element, { conditionExpression: value ? bpmnFactory.create('bpmn:FormalExpression', { body: value.startsWith('=') ? value : `=${value}` }) : undefined }),
    });
  },
};

function multiInstanceText(name: string, label: string, feel: 'optional' | 'required' | null): Entry {
  return {
    id: `kf-mi-${name}`,
    isEdited: feel ? isFeelEntryEdited : isTextFieldEntryEdited,
    component: ({ element, id }) => {
      const modeling = useService('modeling');
      const debounce = useService('debounceInput');
      const loop = element.businessObject.loopCharacteristics;
      return h(feel ? FeelEntry : TextFieldEntry, {
        element,
        id,
        label: t(label),
        feel: feel ?? undefined,
        debounce,
        getValue: () => loop.get(`kf:${name}`) ?? '',
        setValue: (value: string) => modeling.updateModdleProperties(element, loop, { [`kf:${name}`]: value || undefined }),
      });
    },
  };
}

const callActivityEntries: Entry[] = [
  {
    id: 'kf-called-element',
    isEdited: isSelectEntryEdited,
    component: ({ element, id }) => {
      const modeling = useService('modeling');
      const current = element.businessObject.get('calledElement') ?? '';
      const processes = modelingCatalogue.value.processes;
      return h(SelectEntry, {
        element,
        id,
        label: t('props.calledElement'),
        getValue: () => current,
        setValue: (value: string) => modeling.updateProperties(element, { calledElement: value || undefined }),
        getOptions: () => [
          { value: '', label: t('props.choose') },
          ...(current && !processes.some((entry) => entry.key === current) ? [{ value: current, label: current }] : []),
          ...processes.map((entry) => ({ value: entry.key, label: entry.name ? `${entry.name} (${entry.key})` : entry.key })),
        ],
      });
    },
  },
  kfText('calledVersion', 'props.calledVersion', { description: 'props.calledVersionHint', validate: (value) => (value === 'latest' || /^\d+$/.test(value) ? null : t('props.calledVersionInvalid')) }),
  kfFeel('businessKey', 'props.childBusinessKey', 'optional'),
  {
    id: 'kf-propagate',
    isEdited: isCheckboxEntryEdited,
    component: ({ element, id }) => {
      const modeling = useService('modeling');
      return h(CheckboxEntry, {
        element,
        id,
        label: t('props.propagateAllVariables'),
        getValue: () => element.businessObject.get('kf:propagateAllVariables') === true,
        setValue: (checked: boolean) => modeling.updateProperties(element, { 'kf:propagateAllVariables': checked || undefined }),
      });
    },
  },
];

const businessRuleEntries: Entry[] = [
  {
    id: 'kf-decision-ref',
    isEdited: isSelectEntryEdited,
    component: ({ element, id }) => {
      const modeling = useService('modeling');
      const current = element.businessObject.get('kf:decisionRef') ?? '';
      const decisions = modelingCatalogue.value.decisions;
      return h(SelectEntry, {
        element,
        id,
        label: t('props.decisionRef'),
        description: t('props.decisionRefHint'),
        getValue: () => current,
        setValue: (value: string) => modeling.updateProperties(element, { 'kf:decisionRef': value || undefined }),
        getOptions: () => [
          { value: '', label: t('props.choose') },
          ...(current && !decisions.some((entry) => entry.key === current) ? [{ value: current, label: current }] : []),
          ...decisions.map((entry) => ({ value: entry.key, label: `${entry.name ? `${entry.name} (${entry.key})` : entry.key} · v${entry.latestVersion}` })),
        ],
      });
    },
  },
  kfText('decisionVersion', 'props.decisionVersion', { description: 'props.decisionVersionHint', validate: (value) => (value === 'latest' || /^\d+$/.test(value) ? null : t('props.calledVersionInvalid')) }),
  kfText('resultVariable', 'props.resultVariable'),
];

/** The groups Keyflow adds for an element: what its `kf:` attributes mean, in the designer's words. */
export function keyflowGroups(element: Element): GroupSpec[] {
  const groups: GroupSpec[] = [];
  if (is(element, 'bpmn:Process')) groups.push({ id: 'kf-starters', label: 'props.group.starters', entries: roleChecklist('starters', 'props.starter') });
  if (is(element, 'bpmn:ServiceTask') || is(element, 'bpmn:SendTask')) groups.push({ id: 'kf-service', label: 'props.group.service', entries: serviceTaskEntries });
  if (is(element, 'bpmn:UserTask')) groups.push({ id: 'kf-user-task', label: 'props.group.userTask', entries: userTaskEntries() });
  if (is(element, 'bpmn:StartEvent') && takesForm(element)) groups.push({ id: 'kf-start-form', label: 'props.group.startForm', entries: [formEntry] });
  if (is(element, 'bpmn:ScriptTask')) groups.push({ id: 'kf-script', label: 'props.group.script', entries: [kfText('resultVariable', 'props.resultVariable')] });
  if (is(element, 'bpmn:BusinessRuleTask')) groups.push({ id: 'kf-decision', label: 'props.group.decision', entries: businessRuleEntries });
  if (is(element, 'bpmn:CallActivity')) groups.push({ id: 'kf-call', label: 'props.group.callActivity', entries: callActivityEntries });
  if (is(element, 'bpmn:Event') && eventDefinition(element, 'bpmn:TimerEventDefinition')) groups.push({ id: 'kf-timer', label: 'props.group.timer', entries: timerEntries });
  if (is(element, 'bpmn:BoundaryEvent')) groups.push({ id: 'kf-boundary', label: 'props.group.boundary', entries: [interruptingEntry] });
  if ((is(element, 'bpmn:CatchEvent') && eventDefinition(element, 'bpmn:MessageEventDefinition')) || is(element, 'bpmn:ReceiveTask')) {
    groups.push({ id: 'kf-correlation', label: 'props.group.correlation', entries: [kfFeel('correlationKey', 'props.correlationKey', 'optional', 'props.correlationKeyHint')] });
  }
  if (is(element, 'bpmn:SequenceFlow') && /Gateway$/.test(element.businessObject.sourceRef?.$type ?? '') && element.businessObject.sourceRef?.default !== element.businessObject) {
    groups.push({ id: 'kf-condition', label: 'props.group.condition', entries: [conditionEntry] });
  }
  if (element.businessObject?.loopCharacteristics?.$instanceOf?.('bpmn:MultiInstanceLoopCharacteristics')) {
    groups.push({
      id: 'kf-multi-instance',
      label: 'props.group.multiInstance',
      entries: [
        multiInstanceText('collection', 'props.miCollection', 'required'),
        multiInstanceText('elementVariable', 'props.miElementVariable', null),
        multiInstanceText('outputCollection', 'props.miOutputCollection', null),
        multiInstanceText('outputElement', 'props.miOutputElement', 'optional'),
      ],
    });
  }
  return groups;
}

/** A properties provider (bpmn-js-properties-panel's extension point) adding Keyflow's groups. */
export class KeyflowPropertiesProvider {
  static $inject = ['propertiesPanel', 'injector'];

  constructor(
    propertiesPanel: { registerProvider(priority: number, provider: unknown): void },
    private readonly injector: { get(name: string): any },
  ) {
    propertiesPanel.registerProvider(400, this);
  }

  getGroups(element: Element) {
    return (groups: { id: string }[]) => {
      const ours: { id: string }[] = keyflowGroups(element).map((group) => ({ id: group.id, label: t(group.label), entries: group.entries }));
      if (is(element, 'bpmn:Activity')) ours.push(mappingGroup(element, 'kf:Input', this.injector), mappingGroup(element, 'kf:Output', this.injector));
      // Keyflow's groups come right after "General" (name and id), where designers look first.
      const general = groups.findIndex((group) => group.id === 'general');
      groups.splice(general + 1, 0, ...ours);
      return groups;
    };
  }
}

export const keyflowPropertiesModule = {
  __init__: ['keyflowPropertiesProvider'],
  keyflowPropertiesProvider: ['type', KeyflowPropertiesProvider],
};
