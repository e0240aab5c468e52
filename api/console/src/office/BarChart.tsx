/*
 * BarChart.tsx — a bar chart (Chart.js, from npm) that follows its data: the chart is
 * made once per canvas and updated in place, so live updates do not flicker.
 */
import { BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, Tooltip } from 'chart.js';
import { useEffect, useRef } from 'react';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Tooltip, Legend);

export function BarChart({ labels, values, label, max, color, testId }: { labels: string[]; values: number[]; label: string; max?: number; color: string; testId?: string }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const chart = useRef<Chart<'bar'> | null>(null);
  useEffect(() => {
    if (!canvas.current) return;
    chart.current = new Chart(canvas.current, {
      type: 'bar',
      data: { labels: [], datasets: [{ label, data: [], backgroundColor: color }] },
      options: { responsive: true, maintainAspectRatio: false, animation: false, scales: { y: { beginAtZero: true, max } }, plugins: { legend: { display: false } } },
    });
    return () => {
      chart.current?.destroy();
      chart.current = null;
    };
  }, [label, max, color]);
  useEffect(() => {
    const c = chart.current;
    if (!c) return;
    c.data.labels = labels;
    c.data.datasets[0].data = values;
    c.update();
  }, [labels, values]);
  return (
    <div className="chart">
      <canvas ref={canvas} role="img" aria-label={`${label}: ${labels.map((l, i) => `${l} ${values[i]}`).join(', ')}`} data-testid={testId} />
    </div>
  );
}
