import { render } from 'preact';
import './styles/base.css';
import { App } from './app/app';

render(<App />, document.getElementById('app')!);
