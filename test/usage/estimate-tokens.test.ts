import { readFileSync } from 'node:fs';
import { countTokens } from 'gpt-tokenizer/encoding/o200k_base';
import { describe, expect, it } from 'vitest';
import { estimateTokens, estimateUsage } from '../../src/usage/estimate-tokens.ts';

// The gateway estimates without a tokenizer's tables; o200k (GPT-4o's encoding, a dev dependency
// here only) is the reference it is held to.
const prose = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const code = readFileSync(new URL('../../src/app.ts', import.meta.url), 'utf8');
const samples: Record<string, string> = {
  'English prose': prose.slice(0, 3000),
  'TypeScript code': code.slice(0, 3000),
  Chinese:
    '今天天气很好，我们去公园散步吧。人工智能正在改变世界，很多公司都在研究大型语言模型。请帮我写一封邮件给我的老板，说明我明天需要请假。',
  Japanese:
    '今日はとても良い天気ですね。人工知能は世界を変えつつあり、多くの企業が大規模言語モデルを研究しています。明日は休みを取りたいと上司にメールを書いてください。',
  Russian:
    'Сегодня прекрасная погода, давайте прогуляемся в парке. Искусственный интеллект меняет мир, и многие компании изучают большие языковые модели.',
  German:
    'Heute ist das Wetter sehr schön, lass uns im Park spazieren gehen. Künstliche Intelligenz verändert die Welt, und viele Unternehmen erforschen große Sprachmodelle.',
};

describe('estimateTokens', () => {
  it.each(Object.entries(samples))('is within 25%% of o200k for %s', (_name, text) => {
    const ratio = estimateTokens(text) / countTokens(text);
    expect(ratio).toBeGreaterThan(0.8);
    expect(ratio).toBeLessThan(1.25);
  });

  it('counts an emoji (a surrogate pair) once', () => {
    expect(estimateTokens('🎉'.repeat(10))).toBe(7);
  });
});

describe('estimateUsage', () => {
  const request = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'Say hello' }] };

  it('counts the prompt with the chat format overhead, and one token per relayed delta', () => {
    expect(estimateUsage(request, { text: 'Hello there, friend', deltas: 4 })).toEqual({
      prompt_tokens: 3 + 3 + estimateTokens('Say hello'),
      completion_tokens: 4,
      total_tokens: 6 + estimateTokens('Say hello') + 4,
    });
  });

  it('counts the text instead when deltas carry several tokens each, or there are none (JSON)', () => {
    const text = 'x'.repeat(400);
    expect(estimateUsage(request, { text, deltas: 2 }).completion_tokens).toBe(100);
    expect(estimateUsage(request, { text, deltas: 0 }).completion_tokens).toBe(100);
    expect(estimateUsage(request, { text: '', deltas: 0 }).completion_tokens).toBe(0);
  });
});
