/**
 * Block Kit as readable terminal text: what a Slack message would show, without Slack. The blocks
 * are the renderer's own (shared/slack-message.ts), so this only undoes mrkdwn: entities, date
 * tokens, links, emoji and emphasis.
 */
import type { Block } from '#shared/slack-message';
import { controlsLine } from '#shared/slack-controls';

const EMOJI: Record<string, string> = {
  red_circle: '●',
  large_yellow_circle: '◐',
  white_check_mark: '✔',
  arrows_counterclockwise: '↻',
  warning: '⚠',
  rotating_light: '⚠',
  zap: '⚡',
};

// Cluster text reached mrkdwn escaped; control characters must still never reach the terminal.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200b]/g;

/** mrkdwn → plain text (code spans and blocks keep their backticks, so commands stand out). */
export const plainText = (mrkdwn: string): string =>
  mrkdwn
    .replace(/<!date\^\d+\^[^|>]*\|([^>]*)>/g, '$1')
    .replace(/<(https?:[^|>]+)\|([^>]+)>/g, '$2 ($1)')
    .replace(/:([a-z_]+):/g, (whole, name: string) => EMOJI[name] ?? whole)
    .replace(/(^|[\s(])\*([^*\n]+)\*(?=[\s:.,)]|$)/gm, '$1$2')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&')
    .replace(/ˋ/g, '`')
    .replace(CONTROL, '');

/** Code blocks become indented lines; everything else is plain text. */
const section = (mrkdwn: string): string[] => {
  const lines: string[] = [];
  const parts = mrkdwn.split('```');
  parts.forEach((part, index) => {
    if (index % 2 === 1) {
      for (const line of plainText(part).split('\n')) lines.push(`    ${line}`);
      return;
    }
    const text = plainText(part).replace(/^\n+|\n+$/g, '');
    if (text !== '') lines.push(...text.split('\n'));
  });
  return lines;
};

export interface RenderOptions {
  /** Terminal width for the rule lines. */
  width?: number;
  bold?: (text: string) => string;
}

/** The message's blocks as lines (no frame). */
export const renderBlocks = (blocks: readonly Block[], options: RenderOptions = {}): string[] => {
  const bold = options.bold ?? ((text: string) => text);
  const width = Math.max(40, Math.min(options.width ?? 100, 120));
  const lines: string[] = [];
  for (const block of blocks) {
    switch (block.type) {
      case 'header':
        lines.push(bold(plainText(block.text.text)));
        break;
      case 'section':
        if (block.text !== undefined) lines.push(...section(block.text.text));
        if (block.fields !== undefined) {
          const fields = block.fields.map((field) => {
            const [label = '', ...value] = plainText(field.text).split('\n');
            return `${label}: ${value.join(' ')}`;
          });
          for (let i = 0; i < fields.length; i += 2) lines.push(fields.slice(i, i + 2).join('    '));
        }
        break;
      case 'context':
        for (const element of block.elements) lines.push(...section(element.text));
        break;
      case 'divider':
        lines.push('─'.repeat(Math.min(width - 4, 60)));
        break;
      case 'actions':
        lines.push(controlsLine(block));
        break;
    }
  }
  return lines;
};

/** A framed rendering: a title line, the message, and where its Block Kit JSON is. */
export const renderFramed = (
  title: string,
  blocks: readonly Block[],
  footer: string | undefined,
  options: RenderOptions = {},
): string => {
  const width = Math.max(40, Math.min(options.width ?? 100, 120));
  const top = `┌─ ${title} `;
  const out = [`${top}${'─'.repeat(Math.max(2, width - top.length))}`];
  for (const line of renderBlocks(blocks, options)) out.push(`│ ${line}`);
  if (footer !== undefined) out.push(`└─ ${footer}`);
  else out.push(`└${'─'.repeat(Math.max(2, width - 1))}`);
  return out.join('\n');
};
