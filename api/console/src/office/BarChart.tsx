/*
 * BarChart.tsx — a bar chart (Chart.js, from npm) that follows its data: the chart is
 * made once per canvas and updated in place, so live updates do not flicker.
 */
import { BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, Tooltip } from 'chart.js';
import { useEffect, useRef } from 'react';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Tooltip, Legend);

/* `second`: a second series beside the first (budget against actual), with a legend. */
export interface Series {
  label: string;
  values: number[];
  color: string;
}

export function BarChart({ labels, values, label, max, color, testId, second }: { labels: string[]; values: number[]; label: string; max?: number; color: string; testId?: string; second?: Series }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const chart = useRef<Chart<'bar'> | null>(null);
  useEffect(() => {
    if (!canvas.current) return;
    chart.current = new Chart(canvas.current, {
      type: 'bar',
      data: { labels: [], datasets: [{ label, data: [], backgroundColor: color }, ...(second ? [{ label: second.label, data: [] as number[], backgroundColor: second.color }] : [])] },
      options: { responsive: true, maintainAspectRatio: false, animation: false, scales: { y: { beginAtZero: true, max } }, plugins: { legend: { display: !!second } } },
    });
    return () => {
      chart.current?.destroy();
      chart.current = null;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [label, max, color, second?.label, second?.color]);
  useEffect(() => {
    const c = chart.current;
    if (!c) return;
    c.data.labels = labels;
    c.data.datasets[0].data = values;
    if (second && c.data.datasets[1]) c.data.datasets[1].data = second.values;
    c.update();
  }, [labels, values, second]);
  return (
    <div className="chart">
      <canvas ref={canvas} role="img" aria-label={`${label}: ${labels.map((l, i) => `${l} ${values[i]}`).join(', ')}`} data-testid={testId} />
    </div>
  );
}
