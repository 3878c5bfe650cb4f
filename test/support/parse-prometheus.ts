import { execFileSync } from 'node:child_process';

export type Sample = { name: string; labels: Record<string, string>; value: number };
export type MetricFamily = { name: string; type: string; help: string; samples: Sample[] };

/**
 * Parses Prometheus text with the reference parser (the official Python client, from Debian's
 * python3-prometheus-client, which `npm test` installs first), so the tests check the format against
 * Prometheus' own reading.
 */
export function parsePrometheus(text: string): Record<string, MetricFamily> {
  const output = execFileSync(
    '/usr/bin/python3',
    [new URL('./parse-prometheus.py', import.meta.url).pathname],
    {
      input: text,
      encoding: 'utf8',
    },
  );
  const families = JSON.parse(output) as MetricFamily[];
  return Object.fromEntries(families.map((family) => [family.name, family]));
}

/** The value of the one sample named `name` whose labels include `labels`. */
export function sampleValue(
  families: Record<string, MetricFamily>,
  name: string,
  labels: Record<string, string> = {},
) {
  const matches = Object.values(families)
    .flatMap((family) => family.samples)
    .filter(
      (sample) =>
        sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value),
    );
  if (matches.length !== 1)
    throw new Error(`${matches.length} samples match ${name} ${JSON.stringify(labels)}`);
  return matches[0]!.value;
}
