/** Shared pieces: page titles that take focus, loading and error states, clock badges. */
import { useEffect, useRef, type ReactNode } from 'react';
import { Alert, Badge, Center, Group, Loader, Text, Title, Tooltip } from '@mantine/core';
import { ApiError } from '../api';
import type { Clock } from '../lib/clock';

export function PageTitle({ children, right }: { children: string; right?: ReactNode }) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    document.title = `${children} · Custodian`;
    ref.current?.focus({ preventScroll: true });
  }, [children]);
  return (
    <Group justify="space-between" mb="md" wrap="nowrap">
      <Title order={1} size="h2" ref={ref} tabIndex={-1} className="page-title">
        {children}
      </Title>
      {right}
    </Group>
  );
}

export function Loading({ label = 'Loading…' }: { label?: string }) {
  return (
    <Center p="xl" role="status" aria-live="polite">
      <Group gap="sm">
        <Loader size="sm" />
        <Text c="dimmed">{label}</Text>
      </Group>
    </Center>
  );
}

/** The API error as the user reads it: not in this build, refused, or the OperationOutcome's text. */
export function ErrorState({ error, what }: { error: unknown; what: string }) {
  if (error instanceof ApiError && error.missingRoute) return <NotAvailable what={what} />;
  if (error instanceof ApiError && error.status === 403) {
    return (
      <Alert color="red" title="Access refused" role="alert">
        {error.message}
      </Alert>
    );
  }
  const msg = error instanceof Error ? error.message : String(error);
  return (
    <Alert color="red" title={`Could not load ${what}`} role="alert">
      {msg}
    </Alert>
  );
}

export function NotAvailable({ what }: { what: string }) {
  return (
    <Alert color="gray" title="Not available in this build" role="status" data-testid="not-available">
      {what} needs a server endpoint that this Custodian build does not provide yet.
    </Alert>
  );
}

const CLOCK_COLORS: Record<Clock['state'], string> = { overdue: 'red', 'due-soon': 'orange', 'on-track': 'teal', 'no-clock': 'gray' };

export function ClockBadge({ clock }: { clock: Clock }) {
  const badge = (
    <Badge color={CLOCK_COLORS[clock.state]} variant={clock.state === 'overdue' ? 'filled' : 'light'} data-clock={clock.state}>
      {clock.label}
    </Badge>
  );
  if (!clock.rule && !clock.due) return badge;
  return (
    <Tooltip label={`${clock.due ? `Due ${clock.due.toISOString().slice(0, 16).replace('T', ' ')} UTC. ` : ''}${clock.rule ?? ''}`} multiline w={320} withinPortal>
      <span tabIndex={0}>{badge}</span>
    </Tooltip>
  );
}

export function Stat({ label, value, hint, color }: { label: string; value: ReactNode; hint?: ReactNode; color?: string }) {
  return (
    <div className="stat">
      <Text size="sm" c="dimmed">
        {label}
      </Text>
      <Text fw={700} size="xl" c={color} data-testid={`stat-${label.toLowerCase().replace(/[^a-z]+/g, '-')}`}>
        {value}
      </Text>
      {hint ? (
        <Text size="xs" c="dimmed">
          {hint}
        </Text>
      ) : null}
    </div>
  );
}
