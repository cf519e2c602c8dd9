import 'uplot/dist/uPlot.min.css';
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import { language, t } from '../../i18n';

export interface ThroughputHour {
  hour: string;
  started: number;
  completed: number;
}

/** Started and completed instances per hour, drawn by uPlot; the totals are its accessible name. */
export function ThroughputChart({ hours }: { hours: readonly ThroughputHour[] }) {
  const ref = useRef<HTMLDivElement>(null);
  const lang = language.value;
  useEffect(() => {
    const container = ref.current!;
    const data: uPlot.AlignedData = [hours.map((entry) => Date.parse(entry.hour) / 1000), hours.map((entry) => entry.started), hours.map((entry) => entry.completed)];
    const bars = uPlot.paths.bars!({ size: [0.4, 24], align: 0 });
    const chart = new uPlot(
      {
        width: Math.max(320, container.clientWidth),
        height: 180,
        series: [
          {},
          { label: t('ops.throughput.started'), stroke: '#1d4ed8', fill: 'rgb(29 78 216 / 35%)', paths: bars },
          { label: t('ops.throughput.completed'), stroke: '#2f855a', fill: 'rgb(47 133 90 / 35%)', paths: bars },
        ],
        axes: [{}, { label: t('ops.throughput.perHour'), size: 50 }],
        scales: { y: { range: (_, min, max) => [0, Math.max(1, max)] } },
        legend: { show: true },
      },
      data,
      container,
    );
    return () => chart.destroy();
  }, [hours, lang]);
  const started = hours.reduce((sum, entry) => sum + entry.started, 0);
  const completed = hours.reduce((sum, entry) => sum + entry.completed, 0);
  return (
    <figure class="kf-ops-throughput">
      <figcaption>{t('ops.throughput.title', { started, completed, hours: hours.length })}</figcaption>
      <div ref={ref} role="img" aria-label={t('ops.throughput.title', { started, completed, hours: hours.length })} data-started={started} data-completed={completed} />
    </figure>
  );
}
