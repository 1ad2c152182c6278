// Component status behind /-/healthy and /-/ready, as Thanos' prober: healthy once the
// process serves HTTP, ready once the component says so (e.g. the sidecar after it has
// reached Prometheus and learned its external labels).

export class Prober {
  private isHealthy = false;
  private readyErr: Error | null = new Error('not ready yet');

  healthy(): void {
    this.isHealthy = true;
  }

  notHealthy(): void {
    this.isHealthy = false;
  }

  ready(): void {
    this.readyErr = null;
  }

  notReady(err: Error): void {
    this.readyErr = err;
  }

  isHealthyNow(): boolean {
    return this.isHealthy;
  }

  /** null when ready, else the reason. */
  notReadyReason(): Error | null {
    return this.readyErr;
  }
}
