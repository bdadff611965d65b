// What every page does: its title in the tab.
import { useEffect } from './lib.js';

export function useTitle(title) {
  useEffect(() => {
    document.title = title ? `${title} · Paved Road` : 'Paved Road';
  }, [title]);
}
