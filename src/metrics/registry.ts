/**
 * A small Prometheus registry: counters, gauges and histograms with labels, rendered in the text
 * exposition format (version 0.0.4). Written here because prom-client needs Node's process and
 * cluster modules, and this must run on Workers too.
 */
type Labels = Record<string, string>;

type Family = {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram';
  render(): string[];
};

const labelKey = (labels: Labels) =>
  JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1)));

const escapeValue = (value: string) =>
  value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');

const formatLabels = (labels: Labels, extra?: [string, string]) => {
  const pairs = Object.entries(labels);
  if (extra) pairs.push(extra);
  return pairs.length ? `{${pairs.map(([key, value]) => `${key}="${escapeValue(value)}"`).join(',')}}` : '';
};

const formatNumber = (value: number) =>
  Number.isFinite(value) ? String(value) : value > 0 ? '+Inf' : value < 0 ? '-Inf' : 'NaN';

export class Registry {
  readonly #families: Family[] = [];

  counter(name: string, help: string) {
    const add = this.#values(name, help, 'counter');
    return { inc: (labels: Labels = {}, by = 1) => add(labels, by) };
  }

  gauge(name: string, help: string) {
    const add = this.#values(name, help, 'gauge');
    return { inc: (labels: Labels = {}) => add(labels, 1), dec: (labels: Labels = {}) => add(labels, -1) };
  }

  /** One number per label set: what counters and gauges both are. */
  #values(name: string, help: string, type: 'counter' | 'gauge') {
    const series = new Map<string, { labels: Labels; value: number }>();
    this.#families.push({
      name,
      help,
      type,
      render: () =>
        [...series.values()].map(
          ({ labels, value }) => `${name}${formatLabels(labels)} ${formatNumber(value)}`,
        ),
    });
    return (labels: Labels, by: number) => {
      const key = labelKey(labels);
      const entry = series.get(key);
      if (entry) entry.value += by;
      else series.set(key, { labels, value: by });
    };
  }

  histogram(name: string, help: string, buckets: number[]) {
    const series = new Map<string, { labels: Labels; counts: number[]; sum: number; count: number }>();
    this.#families.push({
      name,
      help,
      type: 'histogram',
      render: () =>
        [...series.values()].flatMap(({ labels, counts, sum, count }) => {
          let cumulative = 0;
          return [
            ...buckets.map((bound, index) => {
              cumulative += counts[index] ?? 0;
              return `${name}_bucket${formatLabels(labels, ['le', formatNumber(bound)])} ${cumulative}`;
            }),
            `${name}_bucket${formatLabels(labels, ['le', '+Inf'])} ${count}`,
            `${name}_sum${formatLabels(labels)} ${formatNumber(sum)}`,
            `${name}_count${formatLabels(labels)} ${count}`,
          ];
        }),
    });
    return {
      observe(labels: Labels, value: number) {
        const key = labelKey(labels);
        let entry = series.get(key);
        if (!entry) {
          entry = { labels, counts: buckets.map(() => 0), sum: 0, count: 0 };
          series.set(key, entry);
        }
        const index = buckets.findIndex((bound) => value <= bound);
        if (index !== -1) entry.counts[index] = (entry.counts[index] ?? 0) + 1;
        entry.sum += value;
        entry.count += 1;
      },
    };
  }

  /** The text exposition format, for `Content-Type: text/plain; version=0.0.4`. */
  render(): string {
    return this.#families
      .flatMap((family) => [
        `# HELP ${family.name} ${family.help}`,
        `# TYPE ${family.name} ${family.type}`,
        ...family.render(),
      ])
      .join('\n')
      .concat('\n');
  }
}
