import { useLocation } from 'preact-iso';
import { ConsolePage } from './console-page';
import { InstancePage } from './instance-page';
import { ProcessPage } from './process-page';
import './ops.css';

/** Which ops page a path names: the console (incidents and search), one instance, or one process's heat map. */
export type OpsView = { kind: 'console' } | { kind: 'instance'; workflowId: string } | { kind: 'process'; key: string };

export function opsView(path: string): OpsView {
  const parts = path.split('/').filter(Boolean).slice(1);
  if (parts[0] === 'instances' && parts.length === 2) return { kind: 'instance', workflowId: decodeURIComponent(parts[1]!) };
  if (parts[0] === 'processes' && parts.length === 2) return { kind: 'process', key: decodeURIComponent(parts[1]!) };
  return { kind: 'console' };
}

/** The ops room: find what is stuck, look at one instance on its diagram, and repair it. */
export function OpsRoom() {
  const { path, query } = useLocation();
  const view = opsView(path);
  if (view.kind === 'instance') return <InstancePage key={view.workflowId} workflowId={view.workflowId} />;
  if (view.kind === 'process') return <ProcessPage key={view.key} processKey={view.key} version={Number(query.version) || undefined} />;
  return <ConsolePage query={query} />;
}
