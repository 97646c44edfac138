/**
 * A time field: empty means "now"; it takes `2026-11-27 15:04:05` (local time) or Unix
 * seconds, applies on Enter or when it loses focus, and marks text it cannot read.
 */
import { useEffect, useState } from 'preact/hooks';
import { fromLocalInput, toLocalInput } from './format.js';

export interface TimeInputProps {
  /** Unix seconds as the URL holds them, or '' for now. */
  value: string;
  onChange: (unixSeconds: string) => void;
  label: string;
}

export function TimeInput({ value, onChange, label }: TimeInputProps) {
  const shown = value === '' ? '' : toLocalInput(parseFloat(value) * 1000);
  const [text, setText] = useState(shown);
  const [bad, setBad] = useState(false);
  useEffect(() => {
    setText(shown);
    setBad(false);
  }, [shown]);
  const commit = () => {
    if (text.trim() === '') return onChange('');
    const ms = fromLocalInput(text);
    setBad(ms === undefined);
    if (ms !== undefined) onChange((ms / 1000).toFixed(3).replace(/\.?0+$/, ''));
  };
  return (
    <span class="q-time">
      <input
        type="text"
        aria-label={label}
        class={bad ? 'q-bad' : ''}
        placeholder="now"
        title="YYYY-MM-DD hh:mm:ss in local time, or Unix seconds; empty for now"
        value={text}
        onInput={(e) => setText((e.target as HTMLInputElement).value)}
        onChange={commit}
        onKeyDown={(e) => e.key === 'Enter' && commit()}
      />
      {value !== '' && (
        <button type="button" class="q-link" onClick={() => onChange('')}>
          now
        </button>
      )}
    </span>
  );
}
