/*
 * App.tsx — which screen a route shows, and who may see it. A signed-out visitor goes to
 * the floor's badge-and-PIN sign-in when this phone is enrolled, to the office's password
 * sign-in otherwise; a signed-in one lands on their role's screen. The server decides
 * what each role may read or do; the console only avoids showing a screen that would
 * answer 403.
 */
import { useEffect, useState } from 'react';
import { Shell } from './components';
import { FloorSignIn } from './signin/FloorSignIn';
import { OfficeSignIn } from './signin/OfficeSignIn';
import { DeviceSetup } from './signin/DeviceSetup';
import { WeaverScreen } from './floor/WeaverScreen';
import { MechanicScreen } from './floor/MechanicScreen';
import { PlannerBoard } from './office/PlannerBoard';
import { CutterScreen } from './floor/CutterScreen';
import { QualityScreen } from './floor/QualityScreen';
import { StoreScreen } from './floor/StoreScreen';
import { PurchasingOffice, QualityOffice, StockOffice } from './office/OfficeScreens';
import { MachinesBoard } from './office/MachinesBoard';
import { AccountingOffice, PayslipOffice } from './office/AccountingOffice';
import { ControlOffice } from './office/ControlOffice';
import { ProjectsOffice } from './office/OfficeCommands';
import { loadDevice } from './lib/device';
import { useSession } from './lib/hooks';
import { useI18n } from './lib/i18n';
import { currentRoute, navigate, useRoute } from './lib/router';
import { getSession, restore } from './lib/session';

const SCREENS: Record<string, { roles: string[]; floor: boolean; el: () => JSX.Element }> = {
  '/floor/weaver': { roles: ['weaver', 'planner', 'manager', 'admin'], floor: true, el: () => <WeaverScreen /> },
  '/floor/mechanic': { roles: ['mechanic', 'planner', 'manager', 'admin'], floor: true, el: () => <MechanicScreen /> },
  '/office/planner': { roles: ['planner', 'manager', 'admin'], floor: false, el: () => <PlannerBoard /> },
  '/office/machines': { roles: ['planner', 'manager', 'admin', 'mechanic', 'quality', 'auditor'], floor: false, el: () => <MachinesBoard /> },
  '/floor/cutter': { roles: ['cutter', 'planner', 'manager', 'admin'], floor: true, el: () => <CutterScreen /> },
  '/floor/quality': { roles: ['quality', 'manager', 'admin'], floor: true, el: () => <QualityScreen /> },
  '/floor/store-mp': { roles: ['storekeeper_mp', 'manager', 'admin'], floor: true, el: () => <StoreScreen key="mp" kind="mp" /> },
  '/floor/store-pf': { roles: ['storekeeper_pf', 'manager', 'admin'], floor: true, el: () => <StoreScreen key="pf" kind="pf" /> },
  '/floor/store-st': { roles: ['storekeeper_st', 'manager', 'admin'], floor: true, el: () => <StoreScreen key="st" kind="st" /> },
  '/office/stock': { roles: ['planner', 'manager', 'admin', 'accountant', 'auditor', 'quality'], floor: false, el: () => <StockOffice /> },
  '/office/purchasing': { roles: ['planner', 'manager', 'admin', 'accountant', 'storekeeper_mp'], floor: false, el: () => <PurchasingOffice /> },
  '/office/quality': { roles: ['quality', 'planner', 'manager', 'admin'], floor: false, el: () => <QualityOffice /> },
  '/office/accounting': { roles: ['accountant', 'manager', 'admin', 'auditor'], floor: false, el: () => <AccountingOffice /> },
  '/office/payslip': { roles: ['hr', 'accountant', 'manager', 'admin'], floor: false, el: () => <PayslipOffice /> },
  '/office/control': { roles: ['manager', 'accountant', 'admin', 'auditor'], floor: false, el: () => <ControlOffice /> },
  '/office/projects': { roles: ['planner', 'manager', 'accountant', 'auditor', 'admin'], floor: false, el: () => <ProjectsOffice /> },
};

export function homeOf(role: string): string {
  if (role === 'weaver') return '/floor/weaver';
  if (role === 'mechanic') return '/floor/mechanic';
  if (['planner', 'manager', 'admin'].includes(role)) return '/office/planner';
  if (role === 'cutter') return '/floor/cutter';
  if (role === 'quality') return '/floor/quality';
  if (role === 'storekeeper_mp') return '/floor/store-mp';
  if (role === 'storekeeper_pf') return '/floor/store-pf';
  if (role === 'storekeeper_st') return '/floor/store-st';
  if (role === 'accountant') return '/office/accounting';
  if (role === 'hr') return '/office/payslip';
  if (role === 'auditor') return '/office/machines';
  return '/waiting';
}

export function App() {
  const route = useRoute();
  const session = useSession();
  const { t } = useI18n();
  const [ready, setReady] = useState(false);

  useEffect(() => {
    void restore().finally(() => setReady(true));
  }, []);

  useEffect(() => {
    if (!ready) return;
    // The module's session, not this render's: a popstate update may render before the
    // session's (React gives popstate a higher priority), and an async answer must not
    // send away someone who has signed in meanwhile.
    const now = getSession();
    if (route === '/' || route === '/index.html') {
      if (now) navigate(homeOf(now.claims.role), true);
      else
        void loadDevice().then(
          (d) => currentRoute() === '/' && !getSession() && navigate(d ? '/floor/signin' : '/signin', true),
          () => currentRoute() === '/' && !getSession() && navigate('/signin', true),
        );
      return;
    }
    const screen = SCREENS[route];
    if (screen && !now) navigate(screen.floor ? '/floor/signin' : '/signin', true);
  }, [ready, route, session]);

  if (!ready) return null;
  if (route === '/signin') return <OfficeSignIn />;
  if (route === '/floor/signin') return <FloorSignIn />;
  if (route === '/device') return <DeviceSetup />;
  const screen = SCREENS[route];
  if (screen && session) {
    if (!screen.roles.includes(session.claims.role))
      return (
        <Shell title={t('error.forbidden')}>
          <p className="card">{t('error.forbidden')}</p>
        </Shell>
      );
    return screen.el();
  }
  if (route === '/waiting' && session)
    return (
      <Shell title={session.claims.role}>
        <p className="card" data-testid="waiting">
          Cet écran arrive avec son module ({session.claims.role}). / This screen comes with its module.
        </p>
      </Shell>
    );
  return null;
}
