import { ResourceNotFound } from '@/components/resource-not-found';

export default function NotFound() {
  return <ResourceNotFound kind="evaluation" />;
}
