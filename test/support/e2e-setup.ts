import { forgetTokens, installAuthorizingFetch } from './auth';

installAuthorizingFetch();
afterAll(forgetTokens);
