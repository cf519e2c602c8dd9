// dmn-moddle ships no types.
declare module 'dmn-moddle' {
  export interface DmnParseResult {
    rootElement: unknown;
    references: unknown[];
    warnings: { message: string; element?: unknown; error?: Error }[];
    elementsById: Record<string, unknown>;
  }
  export class DmnModdle {
    constructor(packages?: Record<string, unknown>, options?: Record<string, unknown>);
    fromXML(xml: string, typeName?: string, options?: Record<string, unknown>): Promise<DmnParseResult>;
  }
}
