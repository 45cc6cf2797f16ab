// Pod identity from the CRI annotations containerd puts on every container spec. All containers
// of a pod share one ID block and the sandbox's user namespace; a container without CRI
// annotations is its own pod.

export interface PodIdentity {
  /** Key of the ID block: the sandbox id for CRI containers, else the container id. */
  key: string;
  isSandbox: boolean;
  /** For a CRI app container: the sandbox it belongs to. */
  sandboxId: string | null;
}

export function podIdentity(annotations: Record<string, string> | undefined, containerId: string): PodIdentity {
  const type = annotations?.['io.kubernetes.cri.container-type'] ?? annotations?.['io.kubernetes.cri-o.ContainerType'];
  const sandboxId = annotations?.['io.kubernetes.cri.sandbox-id'] ?? annotations?.['io.kubernetes.cri-o.SandboxID'] ?? null;
  if (type === 'container' && sandboxId && sandboxId !== containerId) {
    return { key: sandboxId, isSandbox: false, sandboxId };
  }
  return { key: containerId, isSandbox: true, sandboxId: type === 'sandbox' ? containerId : null };
}
