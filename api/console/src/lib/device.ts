/*
 * device.ts — this phone's enrolment (POST /api/v1/auth/devices): its tenant, device id
 * and device secret, kept in IndexedDB so that operators can sign in with badge and PIN
 * after the admin's one-time enrolment. The secret alone signs nobody in (a badge's PIN
 * is needed too, and PIN attempts are limited per device and per badge).
 */
import { postJson } from './api';
import { DEVICE, idbDelete, idbGet, idbPut } from './idb';

export interface Device {
  id: 'this';
  tenant: string;
  device_id: string;
  device_secret: string;
  name: string;
}

export const loadDevice = () => idbGet<Device>(DEVICE, 'this');

export async function saveDevice(d: Omit<Device, 'id'>): Promise<Device> {
  const dev: Device = { id: 'this', ...d };
  await idbPut(DEVICE, dev);
  return dev;
}

export const forgetDevice = () => idbDelete(DEVICE, 'this');

/* Enrols this phone with the signed-in admin's or manager's token, and keeps it. */
export async function enrolDevice(tenant: string, name: string): Promise<Device> {
  const r = await postJson<{ device_id: string; device_secret: string; name: string }>('/api/v1/auth/devices', { name });
  return saveDevice({ tenant, device_id: r.device_id, device_secret: r.device_secret, name: r.name });
}
