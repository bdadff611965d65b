// The one place the vendored libraries are imported: Preact, its hooks, and htm for markup.
import { h, render, Fragment, createContext } from '../vendor/preact.module.js';
import {
  useCallback, useContext, useEffect, useMemo, useReducer, useRef, useState,
} from '../vendor/hooks.module.js';
import htm from '../vendor/htm.module.js';

export const html = htm.bind(h);
export {
  h, render, Fragment, createContext,
  useCallback, useContext, useEffect, useMemo, useReducer, useRef, useState,
};
