import 'bpmn-js/dist/assets/diagram-js.css';
import 'bpmn-js/dist/assets/bpmn-js.css';
import NavigatedViewer from 'bpmn-js/lib/NavigatedViewer';
import { useEffect, useRef } from 'preact/hooks';
import kfDescriptor from '../../../../workflows/bpmn/kf.json';

/** What a painter may put on the diagram: markers (CSS classes on elements) and HTML overlays. */
export interface DiagramPaint {
  markers: { elementId: string; marker: string }[];
  overlays: { elementId: string; position: { top?: number; bottom?: number; left?: number; right?: number }; html: HTMLElement; kind: string }[];
}

export interface DiagramElement {
  id: string;
  type: string;
  name?: string;
  /** Sequence flows: where they come from and go to. */
  sourceId?: string;
  targetId?: string;
}

/** An HTML element for an overlay: text only (never markup from the server), with a class and a label. */
export function overlayElement(className: string, text: string, label?: string, title?: string): HTMLElement {
  const element = document.createElement('div');
  element.className = className;
  element.textContent = text;
  if (label) {
    // A generic element may not carry a name: as an image it may, and screen readers read it.
    element.setAttribute('role', 'img');
    element.setAttribute('aria-label', label);
  }
  if (title) element.title = title;
  return element;
}

/**
 * A read-only bpmn-js viewer of one process version, painted by `paint` from what the room knows
 * (tokens, incidents, the path taken, heat). Repainting does not re-import the diagram; clicking an
 * element reports it (the move action picks its target that way).
 */
export function OpsDiagram({
  xml,
  paint,
  onElementClick,
  onReady,
  label,
}: {
  xml: string;
  paint: (elements: DiagramElement[]) => DiagramPaint;
  onElementClick?: (element: DiagramElement) => void;
  onReady?: (elements: DiagramElement[]) => void;
  label: string;
}) {
  const containerRef = useRef<HTMLDivElement>(null);
  const viewerRef = useRef<any>(null);
  const elementsRef = useRef<DiagramElement[] | null>(null);
  const addedMarkers = useRef<{ elementId: string; marker: string }[]>([]);
  const paintRef = useRef(paint);
  const clickRef = useRef(onElementClick);
  paintRef.current = paint;
  clickRef.current = onElementClick;

  const repaint = () => {
    const viewer = viewerRef.current;
    const elements = elementsRef.current;
    if (!viewer || !elements) return;
    const canvas = viewer.get('canvas');
    const overlays = viewer.get('overlays');
    const registry = viewer.get('elementRegistry');
    for (const { elementId, marker } of addedMarkers.current) if (registry.get(elementId)) canvas.removeMarker(elementId, marker);
    overlays.clear();
    const painted = paintRef.current(elements);
    addedMarkers.current = painted.markers.filter(({ elementId }) => viewer.get('elementRegistry').get(elementId));
    for (const { elementId, marker } of addedMarkers.current) canvas.addMarker(elementId, marker);
    for (const overlay of painted.overlays) {
      if (viewer.get('elementRegistry').get(overlay.elementId)) overlays.add(overlay.elementId, overlay.kind, { position: overlay.position, html: overlay.html });
    }
  };

  useEffect(() => {
    const viewer = new NavigatedViewer({ container: containerRef.current!, moddleExtensions: { kf: kfDescriptor } });
    viewerRef.current = viewer;
    addedMarkers.current = [];
    elementsRef.current = null;
    // Exposed for the browser tests, as the designer exposes its modeler.
    (window as unknown as { keyflowOpsViewer?: unknown }).keyflowOpsViewer = viewer;
    let disposed = false;
    viewer.on('element.click', (event: { element: { id: string; type: string; businessObject?: { name?: string } } }) => {
      const element = elementsRef.current?.find((entry) => entry.id === event.element.id);
      if (element) clickRef.current?.(element);
    });
    void (async () => {
      await viewer.importXML(xml);
      if (disposed) return;
      viewer.get('canvas').zoom('fit-viewport', 'auto');
      const registry = viewer.get('elementRegistry');
      elementsRef.current = registry
        .filter((element: any) => element.type !== 'label' && element.businessObject && element.type !== 'bpmn:Process' && element.type !== 'bpmn:Collaboration')
        .map((element: any) => ({
          id: element.id,
          type: element.type,
          name: element.businessObject.name ?? undefined,
          sourceId: element.businessObject.sourceRef?.id,
          targetId: element.businessObject.targetRef?.id,
        }));
      onReady?.(elementsRef.current!);
      repaint();
    })();
    return () => {
      disposed = true;
      viewer.destroy();
      viewerRef.current = null;
    };
  }, [xml]);

  useEffect(repaint);

  return <div class="kf-ops-canvas" ref={containerRef} role="region" aria-label={label} />;
}
