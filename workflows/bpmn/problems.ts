/** One thing wrong with a BPMN model, tied to the element it is about, in words a designer reads. */
export interface ModelProblem {
  /** The BPMN element id; `definitions` for problems of the document as a whole. */
  elementId: string;
  code: ModelProblemCode;
  message: string;
}

/** Every problem code the parser and validator report (stable: the designer keys help texts on them). */
export const modelProblemCodes = [
  'XML_TOO_LARGE',
  'XML_ENCODING',
  'XML_DOCTYPE_REFUSED',
  'XML_MALFORMED',
  'NOT_BPMN',
  'NO_PROCESS',
  'NO_EXECUTABLE_PROCESS',
  'INVALID_PROCESS_KEY',
  'DUPLICATE_ID',
  'UNSUPPORTED_ELEMENT',
  'MISSING_REFERENCE',
  'MISSING_ATTRIBUTE',
  'INVALID_ATTRIBUTE',
  'UNKNOWN_TASK_TYPE',
  'INVALID_EXPRESSION',
  'INVALID_TIMER',
  'NO_START_EVENT',
  'NO_END_EVENT',
  'UNREACHABLE_NODE',
  'CONDITION_MISSING',
  'INVALID_DEFAULT_FLOW',
  'INVALID_FLOW',
  'BOUNDARY_NOT_ATTACHED',
  'INVALID_EVENT_GATEWAY',
  'INVALID_EVENT_SUBPROCESS',
] as const;

export type ModelProblemCode = (typeof modelProblemCodes)[number];

export const documentElementId = 'definitions';
