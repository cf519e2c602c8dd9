import { useSignal } from '@preact/signals';
import type DmnModeler from 'dmn-js/lib/Modeler';
import { ApiRequestError } from '../../../api/client';
import { t } from '../../../i18n';
import { Modal } from '../../../ui/modal';
import { evaluateDeployed, type DecisionEvaluation } from './decision-api';

/** The variables a decision reads, from its input expressions that are plain names (and from the decisions it requires). */
export function variablesRead(modeler: DmnModeler, decisionKey: string): string[] {
  const decisions: any[] = (modeler.getDefinitions()?.drgElement ?? []).filter((element: any) => element.$type === 'dmn:Decision');
  const names = new Set<string>();
  const visit = (id: string, seen: Set<string>) => {
    if (seen.has(id)) return;
    seen.add(id);
    const decision = decisions.find((candidate) => candidate.id === id);
    for (const input of decision?.decisionLogic?.input ?? []) {
      const text = String(input.inputExpression?.text ?? '').trim();
      if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(text)) names.add(text);
    }
    for (const requirement of decision?.informationRequirement ?? []) {
      const href = requirement.requiredDecision?.href;
      if (typeof href === 'string' && href.startsWith('#')) visit(href.slice(1), seen);
    }
  };
  visit(decisionKey, new Set());
  return [...names];
}

/**
 * Tries the deployed decision against variables a designer types, as a process would call it:
 * shows the result and the rules that matched, and marks them in the table.
 */
export function EvaluateDialog({ decisionKey, modeler, onClose, onEvaluated }: { decisionKey: string; modeler: DmnModeler; onClose: () => void; onEvaluated: (evaluation: DecisionEvaluation) => void }) {
  const text = useSignal(JSON.stringify(Object.fromEntries(variablesRead(modeler, decisionKey).map((name) => [name, null])), null, 2));
  const error = useSignal<string | null>(null);
  const evaluation = useSignal<DecisionEvaluation | null>(null);
  const busy = useSignal(false);

  const run = async (event: Event) => {
    event.preventDefault();
    error.value = null;
    let variables: unknown;
    try {
      variables = JSON.parse(text.value);
    } catch {
      error.value = t('decision.variablesNotJson');
      return;
    }
    if (!variables || typeof variables !== 'object' || Array.isArray(variables)) {
      error.value = t('decision.variablesNotObject');
      return;
    }
    busy.value = true;
    try {
      evaluation.value = await evaluateDeployed(decisionKey, variables as Record<string, unknown>);
      onEvaluated(evaluation.value);
    } catch (caught) {
      error.value = caught instanceof ApiRequestError ? `${caught.message} [${caught.code}]` : (caught as Error).message;
      evaluation.value = null;
    } finally {
      busy.value = false;
    }
  };

  return (
    <Modal
      title={t('decision.evaluateTitle', { key: decisionKey })}
      onClose={onClose}
      footer={
        <>
          <span class="kf-muted">{t('decision.evaluateHint')}</span>
          <button type="button" class="kf-button" onClick={onClose}>
            {t('app.close')}
          </button>
          <button type="submit" form="kf-evaluate-form" class="kf-button kf-button--primary" disabled={busy.value}>
            {t('decision.evaluateRun')}
          </button>
        </>
      }
    >
      <form id="kf-evaluate-form" class="kf-form" onSubmit={(event) => void run(event)}>
        <label class="kf-field">
          <span>{t('decision.variables')}</span>
          <textarea
            rows={8}
            spellcheck={false}
            class="kf-code-input"
            value={text.value}
            onInput={(event) => (text.value = event.currentTarget.value)}
            onKeyDown={(event) => {
              if ((event.ctrlKey || event.metaKey) && event.key === 'Enter') void run(event);
            }}
          />
        </label>
      </form>
      {error.value && (
        <p class="kf-error" role="alert">
          {error.value}
        </p>
      )}
      {evaluation.value && (
        <dl class="kf-evaluation" aria-live="polite">
          <dt>{t('decision.result')}</dt>
          <dd>
            <code>{JSON.stringify(evaluation.value.result)}</code> <span class="kf-muted">(v{evaluation.value.version})</span>
          </dd>
          <dt>{t('decision.matchedRules')}</dt>
          <dd>{evaluation.value.matchedRuleIds.length ? evaluation.value.matchedRuleIds.map((id) => <code key={id}>{id} </code>) : <span class="kf-muted">{t('decision.noRuleMatched')}</span>}</dd>
        </dl>
      )}
    </Modal>
  );
}
