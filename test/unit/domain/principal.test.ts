import {
  canAccessCollection,
  hasScope,
  SYSTEM_PRINCIPAL,
  type Scope,
} from '../../../src/domain/access/principal';
import { aPrincipal } from '../../support/builders';

describe('canAccessCollection', () => {
  it.each<[string, string, boolean]>([
    ['*', 'anything', true],
    ['*', 'default', true],
    ['team-*', 'team-a', true],
    ['team-*', 'team-', true],
    ['team-*', 'team-alpha.docs', true],
    ['team-*', 'teams', false],
    ['team-*', 'my-team-a', false],
    ['?', 'a', true],
    ['?', 'ab', false],
    ['?', '', false],
    ['doc?', 'docs', true],
    ['doc?', 'doc', false],
    ['a.b', 'a.b', true],
    ['a.b', 'axb', false],
    ['x+', 'x+', true],
    ['x+', 'xx', false],
    ['default', 'default', true],
    ['default', 'default2', false],
    ['*-archive', 'legal-archive', true],
    ['*-archive', 'legal-archive-old', false],
  ])('pattern %j vs collection %j → %s', (pattern, collection, allowed) => {
    const principal = aPrincipal({ collections: { 'files:read': [pattern] } });
    expect(canAccessCollection(principal, 'files:read', collection)).toBe(allowed);
  });

  it('allows any collection when the scope has no pattern list', () => {
    const principal = aPrincipal({ collections: { 'files:write': ['nothing-here'] } });
    expect(canAccessCollection(principal, 'files:read', 'whatever')).toBe(true);
    expect(canAccessCollection(principal, 'files:write', 'whatever')).toBe(false);
  });

  it('allows nothing with an empty pattern list', () => {
    const principal = aPrincipal({ collections: { 'files:read': [] } });
    expect(canAccessCollection(principal, 'files:read', 'default')).toBe(false);
  });

  it('matches any of several patterns', () => {
    const principal = aPrincipal({ collections: { 'files:read': ['team-*', 'shared'] } });
    expect(canAccessCollection(principal, 'files:read', 'shared')).toBe(true);
    expect(canAccessCollection(principal, 'files:read', 'team-x')).toBe(true);
    expect(canAccessCollection(principal, 'files:read', 'private')).toBe(false);
  });

  it('refuses every collection when the scope is missing, patterns or not', () => {
    const scopes = new Set<Scope>(['files:write']);
    expect(canAccessCollection(aPrincipal({ scopes }), 'files:read', 'default')).toBe(false);
    const withPattern = aPrincipal({ scopes, collections: { 'files:read': ['*'] } });
    expect(canAccessCollection(withPattern, 'files:read', 'default')).toBe(false);
    expect(hasScope(withPattern, 'files:read')).toBe(false);
    expect(hasScope(withPattern, 'files:write')).toBe(true);
  });

  it('lets the system principal into everything', () => {
    expect(canAccessCollection(SYSTEM_PRINCIPAL, 'files:delete', 'any-collection')).toBe(true);
  });
});
