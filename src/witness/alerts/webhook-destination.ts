/** POSTs an alert as JSON to one URL; a 2xx is delivered, a 4xx (but 408 and 429) is final. */
import type { AlertDestination } from './alert-queue';
import { PermanentDeliveryError } from './alert-queue';
import type { AlertMessage } from './alert-message';

export function webhookDestination(url: URL, token: string): AlertDestination<AlertMessage> {
  const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'failover-witness' };
  if (token !== '') headers.authorization = `Bearer ${token}`;
  return {
    name: `webhook ${url.origin}`,
    async deliver(alert, signal) {
      const response = await fetch(url, { method: 'POST', headers, body: JSON.stringify(alert), signal });
      // The body is not needed; reading it frees the connection for the next alert.
      await response.arrayBuffer().catch(() => undefined);
      if (response.ok) return;
      const retryable = response.status >= 500 || response.status === 408 || response.status === 429;
      const problem = `HTTP ${response.status}`;
      throw retryable ? new Error(problem) : new PermanentDeliveryError(problem);
    },
    close() {},
  };
}
