import { describe, expect, it } from 'vitest';
import { formatDuration, formatFigure, formatRatio, STATE_ROWS, TILES } from '../../../softphone/src/myDay.ts';
import { offsetText } from '../../../softphone/src/qaResults.ts';
import { pathText, waitText } from '../../../softphone/src/screenPop.ts';
import { DAY_FIGURES } from '../../../server/http/agentDay.ts';

describe('My day formatting', () => {
  it('shows durations as m:ss or h:mm:ss, rounded to the second', () => {
    expect(formatDuration(0)).toBe('0:00');
    expect(formatDuration(75.4)).toBe('1:15');
    expect(formatDuration(59.5)).toBe('1:00');
    expect(formatDuration(3725)).toBe('1:02:05');
    expect(formatDuration(null)).toBe('–');
  });
  it('shows ratios as percentages with one decimal', () => {
    expect(formatRatio(0.4567)).toBe('45.7%');
    expect(formatRatio(1)).toBe('100.0%');
    expect(formatRatio(null)).toBe('–');
    expect(formatFigure('count', 3)).toBe('3');
    expect(formatFigure('score', 4.3333)).toBe('4.33');
    expect(formatFigure('score', null)).toBe('–');
  });
  it('shows only figures the server sends (the reports row names)', () => {
    const sent = new Set<string>(DAY_FIGURES);
    for (const [field] of [...TILES, ...STATE_ROWS]) expect(sent.has(field), field).toBe(true);
  });
});

describe('screen pop and QA formatting', () => {
  it('reads the wait and the IVR path as an agent would', () => {
    expect(waitText(7.25)).toBe('7 s');
    expect(waitText(75)).toBe('1 min 15 s');
    expect(waitText(undefined)).toBe('–');
    expect(pathText([{ node: 'hours', outcome: 'open' }, { node: 'menu', input: '1' }, { node: 'sales' }])).toBe(
      'hours → menu [1] → sales',
    );
  });
  it('gives comment offsets as m:ss', () => {
    expect(offsetText(83_500)).toBe('1:23');
    expect(offsetText(0)).toBe('0:00');
  });
});

describe('knowledge card text', () => {
  it('joins wrapped lines, keeps list items and paragraphs, drops emphasis marks', async () => {
    const { cardParagraphs } = await import('../../../softphone/src/screenPop.ts');
    expect(
      cardParagraphs('A customer may return within **30 days**\nfor a refund.\n\n1. Confirm the order.\n2. Create a `billing` order.\n'),
    ).toEqual(['A customer may return within 30 days for a refund.', '1. Confirm the order.\n2. Create a billing order.']);
  });
});
