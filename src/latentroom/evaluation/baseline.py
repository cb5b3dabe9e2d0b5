"""Non-neural baseline at a codec's latent budget: PCA of log-mel frames, then Griffin-Lim."""

from __future__ import annotations

import numpy as np

from latentroom.errors import ConfigError
from latentroom.evaluation.spectral import MEL_EPS, griffin_lim, log_mel, mel_filterbank

MAX_FIT_FRAMES = 50_000  # frames drawn (without replacement) for the PCA fit


class PCAMelBaseline:
    """Log-mel frames at the codec's frame rate, reduced to the codec's latent size by PCA.

    ``encode`` maps audio to ``(T, D)`` PCA coefficients of ``log(mel + 1e-5)`` frames taken
    every ``hop_length`` samples (window ``4 * hop_length``); ``decode`` maps them back to mel,
    to a linear magnitude by the filterbank's pseudo-inverse (clipped at 0) and to audio by
    Griffin-Lim.

    Parameters
    ----------
    n_components : int > 0
        Latent dims ``D``; at most ``n_mels`` (larger budgets are clipped, see ``n_components_``).
    sample_rate : int > 0
        Rate of the audio it sees.
    hop_length : int >= 4
        Samples per frame (the codec's hop).
    n_mels : int > 0
        Mel bands.
    n_iter : int >= 0
        Griffin-Lim iterations.
    seed : int
        Seeds the fit's frame subsample and Griffin-Lim's initial phases.
    """

    def __init__(
        self,
        n_components: int,
        *,
        sample_rate: int,
        hop_length: int,
        n_mels: int = 80,
        n_iter: int = 32,
        seed: int = 0,
    ) -> None:
        if n_components < 1 or hop_length < 4 or n_mels < 1 or n_iter < 0:
            raise ConfigError(
                f"baseline needs n_components >= 1, hop_length >= 4, n_mels >= 1, n_iter >= 0; "
                f"got {n_components}, {hop_length}, {n_mels}, {n_iter}"
            )
        self.n_components = n_components
        self.sample_rate = sample_rate
        self.hop_length = hop_length
        self.n_mels = n_mels
        self.n_iter = n_iter
        self.seed = seed
        self.n_fft = 4 * hop_length
        self.fbank = mel_filterbank(sample_rate, self.n_fft, n_mels)

    def features(self, x: np.ndarray) -> np.ndarray:
        """Log-mel frames [shape=(T, n_mels)] of a mono signal (N,)."""
        return log_mel(x, self.fbank, self.n_fft, self.hop_length)

    def fit(self, signals: list[np.ndarray]) -> PCAMelBaseline:
        """Learn the mean frame and the top principal directions from mono signals.

        Sets ``mean_`` [shape=(n_mels,)], ``components_`` [shape=(D', n_mels)] with
        ``D' = min(n_components, n_mels, frames)`` and ``n_components_``.
        """
        if not signals:
            raise ConfigError("the baseline needs at least one training signal to fit")
        frames = np.concatenate([self.features(x) for x in signals])
        rng = np.random.default_rng(self.seed)
        if len(frames) > MAX_FIT_FRAMES:
            frames = frames[rng.choice(len(frames), MAX_FIT_FRAMES, replace=False)]
        self.mean_ = frames.mean(axis=0)
        centred = frames - self.mean_
        # principal directions: eigenvectors of the (n_mels, n_mels) scatter, largest first
        eigenvalues, eigenvectors = np.linalg.eigh(centred.T @ centred)
        order = np.argsort(eigenvalues)[::-1]
        self.n_components_ = min(self.n_components, self.n_mels, len(frames))
        self.components_ = eigenvectors[:, order[: self.n_components_]].T
        self.inverse_fbank_ = np.linalg.pinv(self.fbank)
        return self

    def encode(self, x: np.ndarray) -> np.ndarray:
        """PCA coefficients [shape=(T, D')] of a mono signal (N,)."""
        return np.asarray((self.features(x) - self.mean_) @ self.components_.T)

    def decode(self, z: np.ndarray, n_samples: int) -> np.ndarray:
        """Audio [shape=(n_samples,)] from coefficients ``z`` [shape=(T, D')]."""
        mel = np.maximum(np.exp(z @ self.components_ + self.mean_) - MEL_EPS, 0.0)
        # back from the amplitude scale of ``amplitude_spectrogram`` to raw STFT magnitudes
        magnitude = np.maximum(mel @ self.inverse_fbank_.T, 0.0) * (self.n_fft / 4.0)
        return griffin_lim(
            magnitude, self.n_fft, self.hop_length, n_samples, n_iter=self.n_iter, rng=self.seed
        )

    def reconstruct(self, samples: np.ndarray) -> np.ndarray:
        """Encode then decode every channel of ``samples`` [shape=(C, N)]; same shape back."""
        return np.stack([self.decode(self.encode(x), x.size) for x in samples])
