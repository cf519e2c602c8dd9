import NavigatedViewer from 'bpmn-js/lib/NavigatedViewer';
import 'bpmn-js/dist/assets/diagram-js.css';
import 'bpmn-js/dist/assets/bpmn-js.css';
import { useEffect, useRef, useState } from 'preact/hooks';
import kfDescriptor from '../../../../workflows/bpmn/kf.json';
import { t } from '../../i18n';

/**
 * The process's diagram with this task highlighted and the steps done before it marked. Loaded
 * only when a task page opens (bpmn-js is most of its weight).
 */
export function TaskDiagram({ xml, nodeId, doneNodeIds }: { xml: string; nodeId: string; doneNodeIds: readonly string[] }) {
  const container = useRef<HTMLDivElement>(null);
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    const viewer = new NavigatedViewer({ container: container.current!, moddleExtensions: { kf: kfDescriptor } });
    let cancelled = false;
    setFailed(false);
    void viewer.importXML(xml).then(() => {
      if (cancelled) return;
      const canvas = viewer.get('canvas');
      const registry = viewer.get('elementRegistry');
      canvas.zoom('fit-viewport', 'auto');
      for (const id of doneNodeIds) if (registry.get(id)) canvas.addMarker(id, 'kf-node-done');
      if (registry.get(nodeId)) canvas.addMarker(nodeId, 'kf-node-current');
    }, () => {
      // A model deployed without diagram interchange (drawn by hand, or by a tool that leaves it out) has nothing to show.
      if (!cancelled) setFailed(true);
    });
    return () => {
      cancelled = true;
      viewer.destroy();
    };
  }, [xml, nodeId, doneNodeIds.join(',')]);
  return (
    <>
      <div ref={container} class="kf-task-diagram" hidden={failed} />
      {failed && <p class="kf-muted">{t('tasks.page.noDiagram')}</p>}
    </>
  );
}
