/*
 * Scanner.tsx — reads a QR code with the phone's camera, in the browser.
 *
 * The rear camera (getUserMedia, facingMode environment) plays in a <video>; four times a
 * second a frame is decoded with the browser's BarcodeDetector where it exists (Android
 * Chrome) and with jsQR (pure JavaScript) elsewhere. The camera is stopped as soon as a
 * code is read or the scanner closes, and only then: a re-render of the screen behind
 * (a live push) does not restart it. A typed code works the same (no camera, no
 * permission, or a torn label).
 */
import jsQR from 'jsqr';
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { Modal } from '../components';
import { useI18n } from '../lib/i18n';

interface Detector {
  detect(source: CanvasImageSource): Promise<{ rawValue: string }[]>;
}

function nativeDetector(): Detector | null {
  const BD = (window as unknown as { BarcodeDetector?: new (o: { formats: string[] }) => Detector }).BarcodeDetector;
  try {
    return BD ? new BD({ formats: ['qr_code'] }) : null;
  } catch {
    return null;
  }
}

export function Scanner({ onResult, onClose }: { onResult: (text: string) => void; onClose: () => void }) {
  const { t } = useI18n();
  const video = useRef<HTMLVideoElement>(null);
  const [camera, setCamera] = useState<'starting' | 'on' | 'off'>('starting');
  const [typed, setTyped] = useState('');
  // The screen behind re-renders on every live push (a new onResult each time); the camera
  // must not restart with it, so the effect reads the latest callback through a ref.
  const result = useRef(onResult);
  result.current = onResult;

  useEffect(() => {
    let stream: MediaStream | null = null;
    let timer: ReturnType<typeof setInterval> | undefined;
    let stopped = false;
    const canvas = document.createElement('canvas');
    const detector = nativeDetector();
    const stop = () => {
      stopped = true;
      if (timer) clearInterval(timer);
      stream?.getTracks().forEach((tr) => tr.stop());
    };
    const found = (text: string) => {
      if (stopped) return;
      stop();
      result.current(text);
    };
    const tick = async () => {
      const v = video.current;
      if (!v || v.readyState < 2 || !v.videoWidth) return;
      if (detector) {
        try {
          const codes = await detector.detect(v);
          if (codes[0]?.rawValue) return found(codes[0].rawValue);
        } catch {
          /* fall through to jsQR */
        }
      }
      const w = Math.min(v.videoWidth, 800);
      const h = Math.round((v.videoHeight * w) / v.videoWidth);
      canvas.width = w;
      canvas.height = h;
      const ctx = canvas.getContext('2d', { willReadFrequently: true });
      if (!ctx) return;
      ctx.drawImage(v, 0, 0, w, h);
      const img = ctx.getImageData(0, 0, w, h);
      const code = jsQR(img.data, w, h, { inversionAttempts: 'dontInvert' });
      if (code?.data) found(code.data);
    };
    (async () => {
      try {
        if (!navigator.mediaDevices?.getUserMedia) throw new Error('no camera API');
        stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' }, audio: false });
        if (stopped) return stop();
        const v = video.current;
        if (!v) return stop();
        v.srcObject = stream;
        v.muted = true;
        v.setAttribute('playsinline', 'true');
        await v.play();
        setCamera('on');
        timer = setInterval(() => void tick(), 250);
      } catch {
        if (!stopped) setCamera('off');
      }
    })();
    return stop;
  }, []);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (typed.trim()) onResult(typed.trim());
  };

  return (
    <Modal title={t('scan.title')} onClose={onClose}>
      <div className="scanner">
        <video ref={video} className={camera === 'on' ? 'cam' : 'cam hidden'} data-testid="camera" />
        {camera === 'off' && <p className="muted">{t('scan.nocamera')}</p>}
      </div>
      <form onSubmit={submit}>
        <label>
          {t('scan.manual')}
          <input name="code" value={typed} onChange={(e) => setTyped(e.target.value)} autoComplete="off" />
        </label>
        <button type="submit" className="primary">
          OK
        </button>
      </form>
    </Modal>
  );
}
