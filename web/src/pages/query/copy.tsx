/**
 * A "Copy" button, and a code block with one. The clipboard API needs a secure context
 * (https or localhost); elsewhere the text is copied through a hidden selection.
 */
import { useState } from 'preact/hooks';
import './copy.css';

async function copyText(text: string): Promise<void> {
  if (window.isSecureContext && navigator.clipboard !== undefined) {
    await navigator.clipboard.writeText(text);
    return;
  }
  const area = document.createElement('textarea');
  area.value = text;
  area.style.position = 'fixed';
  area.style.opacity = '0';
  document.body.appendChild(area);
  area.select();
  document.execCommand('copy');
  area.remove();
}

export function CopyButton({ text, label = 'Copy' }: { text: string; label?: string }) {
  const [state, setState] = useState<'idle' | 'copied' | 'failed'>('idle');
  const onClick = () => {
    copyText(text).then(
      () => setState('copied'),
      () => setState('failed'),
    );
    setTimeout(() => setState('idle'), 1500);
  };
  return (
    <button type="button" class="copy-button" onClick={onClick}>
      {state === 'copied' ? 'Copied' : state === 'failed' ? 'Select and copy by hand' : label}
    </button>
  );
}

/** Preformatted text with a title bar and a copy button. */
export function CodeBlock({
  title,
  text,
  testId,
  wrap = false,
}: {
  title?: string;
  text: string;
  testId?: string;
  /** Wrap long lines (a one-line command) instead of scrolling (a config file). */
  wrap?: boolean;
}) {
  return (
    <div class="code-block">
      <div class="code-block-bar">
        <span>{title ?? ''}</span>
        <CopyButton text={text} />
      </div>
      <pre data-testid={testId} class={wrap ? 'wrap' : ''}>
        {text}
      </pre>
    </div>
  );
}
