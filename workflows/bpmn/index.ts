// Keyflow's BPMN model code: XML → executable model, validation, summaries. Pure (no Node
// built-ins), shared by the API and the designer; the workflow bundle never imports it — the
// interpreter receives the parsed model in its input.
export { parseBpmn, checkDefinitions, defaultServiceTaskRetries, defaultServiceTaskTimeout, screenXml, maxBpmnDepth, maxBpmnElements, keyflowNamespace, kfDescriptor, maxBpmnBytes, isIsoDuration, isIsoInstant, isIsoCycle, type ParseResult, type SkippedProcess } from './parse';
export { validateModel, processKeyPattern, type ValidationOptions } from './validate';
export { summariseModel, type ModelSummary } from './summary';
export { formFieldsFromSchema, schemaFromFormFields, type FormSchemaReading } from './form-schema';
export { modelProblemCodes, documentElementId, type ModelProblem, type ModelProblemCode } from './problems';
