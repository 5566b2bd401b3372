/** The frame: skip link, navigation by permission, the signed-in user and sign-out. */
import type { ReactNode } from 'react';
import { Badge, Button, Group, NavLink, Stack, Text } from '@mantine/core';
import { Link, useLocation } from 'wouter';
import { useSession } from '../session';

const NAV: { href: string; label: string; permission?: string }[] = [
  { href: '/', label: 'Home' },
  { href: '/worklist', label: 'Worklist' },
  { href: '/patients', label: 'Patients', permission: 'fhir.read' },
  { href: '/encoder', label: 'Encoder', permission: 'terminology.read' },
  { href: '/quality', label: 'Data quality', permission: 'checks.read' },
  { href: '/duplicates', label: 'Duplicates', permission: 'mpi.read' },
  { href: '/audit', label: 'Audit trail', permission: 'audit.read' },
  { href: '/admin', label: 'Administration', permission: 'users.manage' },
];

export function Layout({ children }: { children: ReactNode }) {
  const { me, can, signOut } = useSession();
  const [location] = useLocation();
  const active = (href: string) => (href === '/' ? location === '/' : location === href || location.startsWith(`${href}/`) || (href === '/worklist' && location.startsWith('/work/')));
  return (
    <div className="shell">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="shell-header">
        <Group justify="space-between" px="md" h="100%">
          <Text fw={700} size="lg" component="span">
            Custodian <Text span c="dimmed" fw={400}>HIM workbench</Text>
          </Text>
          <Group gap="sm">
            {me ? (
              <Text size="sm" data-testid="signed-in-user">
                {me.username} {me.roles.map((r) => <Badge key={r} variant="light" ml={4}>{r}</Badge>)}
                {me.open ? <Badge color="gray" ml={4}>no sign-in in this build</Badge> : null}
              </Text>
            ) : null}
            <Button variant="default" size="xs" onClick={() => void signOut()}>
              Sign out
            </Button>
          </Group>
        </Group>
      </header>
      <nav className="shell-nav" aria-label="Main">
        <Stack gap={2} p="xs">
          {NAV.filter((n) => !n.permission || can(n.permission)).map((n) => (
            <NavLink key={n.href} component={Link} href={n.href} label={n.label} active={active(n.href)} aria-current={active(n.href) ? 'page' : undefined} />
          ))}
        </Stack>
      </nav>
      <main id="main" className="shell-main">
        {children}
      </main>
    </div>
  );
}
