import {
  BoxesIcon,
  CreditCardIcon,
  DatabaseIcon,
  FlaskConicalIcon,
  type LucideIcon,
  MessagesSquareIcon,
  RocketIcon,
  ScaleIcon,
  ScrollTextIcon,
  SettingsIcon,
  SparklesIcon,
} from 'lucide-react';
import type { TMessageKey } from '@/lib/i18n/translate';

type TNavItem = { segment: string; label: TMessageKey; icon: LucideIcon };
export type TNavGroup = { label: TMessageKey; items: TNavItem[] };

/** The console's navigation, in the order of the user's journey: data -> training -> models -> evaluation -> serving. */
export const NAV: TNavGroup[] = [
  {
    label: 'nav.build',
    items: [
      { segment: 'start', label: 'nav.start', icon: SparklesIcon },
      { segment: 'datasets', label: 'nav.datasets', icon: DatabaseIcon },
      { segment: 'fine-tuning', label: 'nav.fineTuning', icon: FlaskConicalIcon },
      { segment: 'models', label: 'nav.models', icon: BoxesIcon },
      { segment: 'evaluations', label: 'nav.evaluations', icon: ScaleIcon },
    ],
  },
  {
    label: 'nav.ship',
    items: [
      { segment: 'deployments', label: 'nav.deployments', icon: RocketIcon },
      { segment: 'playground', label: 'nav.playground', icon: MessagesSquareIcon },
      { segment: 'logs', label: 'nav.logs', icon: ScrollTextIcon },
    ],
  },
  {
    label: 'nav.manage',
    items: [
      { segment: 'billing', label: 'nav.billing', icon: CreditCardIcon },
      { segment: 'settings', label: 'nav.settings', icon: SettingsIcon },
    ],
  },
];
