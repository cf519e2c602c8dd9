import Modeler from 'bpmn-js/lib/Modeler';
import 'bpmn-js/dist/assets/diagram-js.css';
import 'bpmn-js/dist/assets/bpmn-js.css';
import 'bpmn-js/dist/assets/bpmn-font/css/bpmn-embedded.css';
import '@bpmn-io/properties-panel/dist/assets/properties-panel.css';
import 'bpmn-js-bpmnlint/dist/assets/css/bpmn-js-bpmnlint.css';
import 'diagram-js-minimap/assets/diagram-js-minimap.css';
import { BpmnPropertiesPanelModule, BpmnPropertiesProviderModule } from 'bpmn-js-properties-panel';
import lintModule from 'bpmn-js-bpmnlint';
import minimapModule from 'diagram-js-minimap';
import kfDescriptor from '../../../../../workflows/bpmn/kf.json';
import { keyflowPropertiesModule } from './kf-properties/provider';
import { keyflowLintConfig } from './lint/keyflow-rules';
import { serverProblemsModule } from './problems/server-problems';
import { translateModule } from './translate';

/**
 * The designer's modeler: bpmn-js with the properties panel (BPMN's own groups plus Keyflow's),
 * live linting by the deploy's own rules, the server's problem marks, and the minimap. The `kf:`
 * descriptor is the very file the server parses with, so every attribute round-trips.
 */
export function createModeler(canvas: HTMLElement, panel: HTMLElement): Modeler {
  return new Modeler({
    container: canvas,
    propertiesPanel: { parent: panel },
    linting: { bpmnlint: keyflowLintConfig, active: true },
    moddleExtensions: { kf: kfDescriptor },
    additionalModules: [BpmnPropertiesPanelModule, BpmnPropertiesProviderModule, keyflowPropertiesModule, lintModule, minimapModule, serverProblemsModule, translateModule],
  });
}

/** A new, empty process the designer starts from: one start event, as bpmn-js creates it. */
export function blankProcessXml(key: string, name: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" xmlns:kf="${kfDescriptor.uri}" id="${key}-definitions" targetNamespace="http://keyflow.dev/processes">
  <bpmn:process id="${key}" name="${escapeXml(name)}" isExecutable="true">
    <bpmn:startEvent id="start" />
  </bpmn:process>
  <bpmndi:BPMNDiagram id="diagram">
    <bpmndi:BPMNPlane id="plane" bpmnElement="${key}">
      <bpmndi:BPMNShape id="start_di" bpmnElement="start"><dc:Bounds x="180" y="160" width="36" height="36" /></bpmndi:BPMNShape>
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
</bpmn:definitions>`;
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"]/g, (char) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[char]!);
}
