// The bpmn-io packages ship JavaScript without types; these are the shapes Keyflow relies on.
declare module 'bpmn-js/lib/Modeler' {
  export default class Modeler {
    constructor(options: Record<string, unknown>);
    importXML(xml: string): Promise<{ warnings: unknown[] }>;
    saveXML(options?: { format?: boolean }): Promise<{ xml: string }>;
    saveSVG(): Promise<{ svg: string }>;
    createDiagram(): Promise<unknown>;
    get<T = any>(name: string): T;
    getDefinitions(): any;
    on(event: string, callback: (event: any) => void): void;
    on(event: string, priority: number, callback: (event: any) => void): void;
    off(event: string, callback: (event: any) => void): void;
    attachTo(element: HTMLElement): void;
    detach(): void;
    destroy(): void;
  }
}
declare module 'bpmn-js/lib/NavigatedViewer' {
  import Modeler from 'bpmn-js/lib/Modeler';
  export default class NavigatedViewer extends Modeler {}
}
declare module 'bpmn-js-properties-panel' {
  export const BpmnPropertiesPanelModule: any;
  export const BpmnPropertiesProviderModule: any;
  export function useService<T = any>(name: string): T;
}
declare module '@bpmn-io/properties-panel' {
  export const TextFieldEntry: any;
  export const SelectEntry: any;
  export const CheckboxEntry: any;
  export const FeelEntry: any;
  export const ListGroup: any;
  export const Group: any;
  export function isTextFieldEntryEdited(node: unknown): boolean;
  export function isSelectEntryEdited(node: unknown): boolean;
  export function isCheckboxEntryEdited(node: unknown): boolean;
  export function isFeelEntryEdited(node: unknown): boolean;
}
declare module '@bpmn-io/properties-panel/preact' {
  export function h(type: any, props?: any, ...children: any[]): any;
}
declare module 'bpmn-js-bpmnlint' {
  const module: any;
  export default module;
}
declare module 'diagram-js-minimap' {
  const module: any;
  export default module;
}
declare module 'bpmn-js-differ' {
  export function diff(a: any, b: any): { _added: Record<string, any>; _removed: Record<string, any>; _changed: Record<string, { model: any; attrs: Record<string, { oldValue: unknown; newValue: unknown }> }>; _layoutChanged: Record<string, any> };
}
declare module '*.css';
declare module 'dmn-js/lib/Modeler' {
  export interface DmnView {
    type: 'drd' | 'decisionTable' | 'literalExpression' | 'boxedExpression';
    element: { id: string; name?: string; $type: string; [key: string]: any };
  }
  export interface DmnViewer {
    get<T = any>(name: string): T;
    on(event: string, callback: (event: any) => void): void;
  }
  export default class DmnModeler {
    constructor(options: Record<string, unknown>);
    importXML(xml: string): Promise<{ warnings: unknown[] }>;
    saveXML(options?: { format?: boolean }): Promise<{ xml: string }>;
    getViews(): DmnView[];
    getActiveView(): DmnView | undefined;
    getActiveViewer(): DmnViewer | undefined;
    getDefinitions(): any;
    open(view: DmnView): Promise<unknown>;
    on(event: string, callback: (event: any) => void): void;
    destroy(): void;
  }
}
