import { t } from '../../i18n';

export interface ListedProblem {
  source: 'lint' | 'server';
  elementId: string;
  message: string;
  severity: 'error' | 'warning';
}

/** Every problem of the model, from the live linter and from the server; a click selects its element. */
export function ProblemsPanel({ problems, onSelect }: { problems: readonly ListedProblem[]; onSelect: (elementId: string) => void }) {
  return (
    <section class="kf-problems" aria-labelledby="problems-title">
      <h3 id="problems-title">
        {t('designer.problems')} <span class={problems.length ? 'kf-badge kf-badge--danger' : 'kf-badge kf-badge--ok'}>{problems.length}</span>
      </h3>
      {problems.length === 0 ? (
        <p class="kf-muted">{t('designer.noProblems')}</p>
      ) : (
        <ul class="kf-problem-list">
          {problems.map((problem, index) => (
            <li key={`${problem.source}-${problem.elementId}-${index}`}>
              <button type="button" class="kf-problem" onClick={() => onSelect(problem.elementId)}>
                <span class={`kf-problem-source kf-problem-source--${problem.source}`}>{t(`designer.problemSource.${problem.source}`)}</span>
                <code class="kf-problem-element">{problem.elementId}</code>
                <span class="kf-problem-message">{problem.message}</span>
              </button>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
