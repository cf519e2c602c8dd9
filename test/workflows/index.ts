// The bundle test workers run: every production workflow plus the small hand-written ones that
// exercise the external-system activities until BPMN processes can do the same.
export * from '../../workflows/index';
export * from './external';
